# Regenerate tests/data/goldens_mh.json: metafor's rma.mh() and rma.peto() on metadat data sets.
#
# Run from the repository root:  Rscript scripts/goldens/mh.R
# Needs R with metafor (3.8.1 was used), metadat and jsonlite. Each case stores the 2x2 cells
# (null = missing), the options and metafor's results (null where metafor gives NA) plus the
# printed summary, so the Python tests need neither R nor metadat.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

cases <- list()
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

add_case <- function(name, source, method, cells, options = list()) {
  fun <- if (method == "MH") rma.mh else rma.peto
  res <- suppressWarnings(do.call(fun, c(cells, options)))
  printed <- paste(capture.output(print(res)), collapse = "\n")
  cases[[length(cases) + 1L]] <<- list(
    name = name, source = source, method = method,
    measure = if (method == "MH") (if (is.null(options$measure)) "OR" else options$measure)
              else "PETO",
    cells = cells, options = options,
    result = list(
      k = res$k, k_yi = res$k.yi, k_pos = num(res$k.pos),
      beta = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
      ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
      QE = num(res$QE), QEp = num(res$QEp), I2 = num(res$I2), H2 = num(res$H2),
      CO = num(res$CO), COp = num(res$COp), MH = num(res$MH), MHp = num(res$MHp),
      BD = num(res$BD), BDp = num(res$BDp), TA = num(res$TA), TAp = num(res$TAp)
    ),
    weights = I(as.numeric(weights(res))),
    predict = with(predict(res), list(pred = as.numeric(pred), ci_lb = as.numeric(ci.lb),
                                      ci_ub = as.numeric(ci.ub))),
    printed = printed
  )
}

cells_nmiss <- function(d, ai, n1i, ci, n2i) {
  list(ai = d[[ai]], bi = d[[n1i]] - d[[ai]], ci = d[[ci]], di = d[[n2i]] - d[[ci]])
}

bcg <- dat.bcg
bcg_cells <- list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg)
niel <- cells_nmiss(dat.nielweise2007, "ai", "n1i", "ci", "n2i")
yus6 <- cells_nmiss(dat.yusuf1985[dat.yusuf1985$table == "6", ], "ai", "n1i", "ci", "n2i")
yus9 <- cells_nmiss(dat.yusuf1985[dat.yusuf1985$table == "9", ], "ai", "n1i", "ci", "n2i")
li <- cells_nmiss(dat.li2007, "ai", "n1i", "ci", "n2i")
egg <- cells_nmiss(dat.egger2001, "ai", "n1i", "ci", "n2i")
col <- dat.collins1985a
col_cells <- list(ai = col$b.xti, bi = col$nti - col$b.xti,
                  ci = col$b.xci, di = col$nci - col$b.xci)

sets <- list(
  list("bcg", "metadat::dat.bcg", bcg_cells),
  list("nielweise2007", "metadat::dat.nielweise2007", niel),
  list("yusuf1985_t6", "metadat::dat.yusuf1985 (table 6)", yus6),
  list("yusuf1985_t9", "metadat::dat.yusuf1985 (table 9)", yus9),
  list("li2007", "metadat::dat.li2007", li),
  list("egger2001", "metadat::dat.egger2001", egg),
  list("collins1985a", "metadat::dat.collins1985a (bleeding, b.xti/b.xci)", col_cells)
)
for (s in sets) {
  for (m in c("OR", "RR", "RD")) {
    add_case(paste0(s[[1]], "_MH_", m), s[[2]], "MH", s[[3]], list(measure = m))
  }
  add_case(paste0(s[[1]], "_PETO"), s[[2]], "PETO", s[[3]])
}
# options: level, drop00 = FALSE, to = "all", add = 1, no continuity correction in the CMH test
add_case("bcg_MH_OR_level90", "metadat::dat.bcg", "MH", bcg_cells,
         list(measure = "OR", level = 90))
add_case("bcg_PETO_level99", "metadat::dat.bcg", "PETO", bcg_cells, list(level = 99))
add_case("yusuf1985_t6_MH_OR_keep00", "metadat::dat.yusuf1985 (table 6)", "MH", yus6,
         list(measure = "OR", drop00 = FALSE))
add_case("yusuf1985_t6_PETO_keep00", "metadat::dat.yusuf1985 (table 6)", "PETO", yus6,
         list(drop00 = FALSE))
add_case("nielweise2007_MH_RR_all", "metadat::dat.nielweise2007", "MH", niel,
         list(measure = "RR", to = "all"))
add_case("nielweise2007_MH_OR_add1", "metadat::dat.nielweise2007", "MH", niel,
         list(measure = "OR", add = 1))
add_case("nielweise2007_MH_OR_nocorrect", "metadat::dat.nielweise2007", "MH", niel,
         list(measure = "OR", correct = FALSE))
add_case("nielweise2007_PETO_if0all", "metadat::dat.nielweise2007", "PETO", niel,
         list(to = "if0all"))
# a single table, and two tables of which one has no events
add_case("single_MH_OR", "hand data", "MH", list(ai = 5, bi = 45, ci = 9, di = 41),
         list(measure = "OR"))
add_case("single_PETO", "hand data", "PETO", list(ai = 5, bi = 45, ci = 9, di = 41))
add_case("two_MH_OR", "hand data", "MH", list(ai = c(5, 0), bi = c(45, 30), ci = c(9, 0),
                                                di = c(41, 28)), list(measure = "OR"))
add_case("two_PETO", "hand data", "PETO", list(ai = c(5, 0), bi = c(45, 30), ci = c(9, 0),
                                                di = c(41, 28)))

# incidence rates (events over person-time): IRR and IRD
hart <- dat.hart1999
hart_cells <- list(x1i = hart$x1i, t1i = hart$t1i, x2i = hart$x2i, t2i = hart$t2i)
for (m in c("IRR", "IRD")) {
  add_case(paste0("hart1999_MH_", m), "metadat::dat.hart1999", "MH", hart_cells,
           list(measure = m))
}
rates0 <- list(x1i = c(0, 4, 0, 7, 2), t1i = c(100, 250.5, 80, 300, 120),
               x2i = c(3, 0, 0, 9, NA), t2i = c(110, 240, 75, 310, 130))
for (m in c("IRR", "IRD")) {
  add_case(paste0("hand_rates_MH_", m), "hand data", "MH", rates0, list(measure = m))
}
add_case("hand_rates_MH_IRR_nocorrect_all", "hand data", "MH", rates0,
         list(measure = "IRR", correct = FALSE, to = "all"))

out <- list(
  generated_by = "scripts/goldens/mh.R",
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  cases = cases
)
dir.create("tests/data", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/data/goldens_mh.json")
cat("wrote tests/data/goldens_mh.json with", length(cases), "cases\n")
