# Regenerates tests/data/goldens_anova.json: reference values for the Wald-type tests of
# metareview.models.anova (metafor's anova(res, btt=) and anova(res, X=, rhs=)).
#
# Run from the repository root:
#     Rscript scripts/goldens/anova.R
# Needs R >= 4.2 with metafor 3.8, metadat and jsonlite (Debian: r-cran-metafor r-cran-metadat
# r-cran-jsonlite).
#
# Each case stores the fit's call, the anova() call, its numbers and its printout
# (capture.output(print(a))). The rma.mv fits use the datasets of tests/data/goldens_rma_mv.json
# and the same tight optimiser settings as scripts/goldens/rma_mv.R. Non-finite numbers are the
# strings "NA", "NaN", "Inf", "-Inf".

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
options(useFancyQuotes = FALSE, width = 200)

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
mvctrl <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14, maxit = 10000)
vnum <- function(x) if (is.null(x)) numeric(0) else as.numeric(x)

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_cols <- list(tpos = bcg$tpos, tneg = bcg$tneg, cpos = bcg$cpos, cneg = bcg$cneg,
                 ablat = bcg$ablat, year = bcg$year, alloc = as.character(bcg$alloc))

cases <- list()
add_case <- function(name, fit, a, fit_call, anova_call) {
  out <- list(fit = fit_call, anova = anova_call, test = a$test, m = a$m,
              print = paste(capture.output(print(a)), collapse = "\n"))
  if (!is.null(a$btt)) {
    out$btt <- a$btt
    out$QM <- a$QM; out$QMdf <- vnum(a$QMdf); out$QMp <- a$QMp
  } else {
    out$Xb <- as.numeric(a$Xb); out$se <- as.numeric(a$se); out$zval <- as.numeric(a$zval)
    out$pval <- as.numeric(a$pval); out$ddf <- vnum(a$ddf)
    out$QM <- a$QM; out$QMdf <- vnum(a$QMdf); out$QMp <- a$QMp
    out$hyp <- as.character(a$hyp[[1]])
  }
  cases[[name]] <<- out
}

# ---- dat.bcg: log risk ratios ~ ablat + year (REML, z)
r1 <- rma(yi, vi, mods = ~ ablat + year, data = bcg, control = ctrl)
add_case("bcg_btt23", r1, anova(r1, btt = 2:3),
         list(mods = c("ablat", "year"), method = "REML", test = "z"), list(btt = c(2, 3)))
add_case("bcg_btt3", r1, anova(r1, btt = 3),
         list(mods = c("ablat", "year"), method = "REML", test = "z"), list(btt = 3))
add_case("bcg_btt2_rhs", r1, anova(r1, btt = 2, rhs = -0.03),
         list(mods = c("ablat", "year"), method = "REML", test = "z"), list(btt = 2, rhs = -0.03))
X1 <- rbind(c(1, 10, 1970), c(1, 40, 1970), c(0, 30, 0))
add_case("bcg_X", r1, anova(r1, X = X1),
         list(mods = c("ablat", "year"), method = "REML", test = "z"), list(X = X1))
add_case("bcg_X_rhs", r1, anova(r1, X = c(0, 1, -1), rhs = 0.01),
         list(mods = c("ablat", "year"), method = "REML", test = "z"),
         list(X = rbind(c(0, 1, -1)), rhs = 0.01))
add_case("bcg_X_noint", r1, anova(r1, X = rbind(c(20, 1980), c(50, 1960)), rhs = c(-0.5, -1)),
         list(mods = c("ablat", "year"), method = "REML", test = "z"),
         list(X = rbind(c(20, 1980), c(50, 1960)), rhs = c(-0.5, -1)))
# rank-deficient X: the rows are tested, the omnibus test is NA
add_case("bcg_X_rankdef", r1, anova(r1, X = rbind(c(0, 1, 0), c(0, 2, 0))),
         list(mods = c("ablat", "year"), method = "REML", test = "z"),
         list(X = rbind(c(0, 1, 0), c(0, 2, 0))))

# ---- a factor moderator (alloc), Knapp-Hartung
r2 <- rma(yi, vi, mods = ~ factor(alloc), data = bcg, test = "knha", control = ctrl)
add_case("bcg_alloc_knha_btt", r2, anova(r2, btt = 2:3),
         list(mods = c("factor(alloc)"), method = "REML", test = "knha"), list(btt = c(2, 3)))
add_case("bcg_alloc_knha_btt_name", r2, anova(r2, btt = "systematic"),
         list(mods = c("factor(alloc)"), method = "REML", test = "knha"),
         list(btt = "systematic"))
# btt as a string: grep(btt, colnames(X)) in metafor's .set.btt, a regular expression (every
# coefficient it matches is tested), or a literal substring with fixed = TRUE
add_case("bcg_alloc_knha_btt_regex", r2, anova(r2, btt = "alloc"),
         list(mods = c("factor(alloc)"), method = "REML", test = "knha"), list(btt = "alloc"))
add_case("bcg_alloc_knha_btt_regex_alt", r2, anova(r2, btt = "m$|^int"),
         list(mods = c("factor(alloc)"), method = "REML", test = "knha"), list(btt = "m$|^int"))
add_case("bcg_alloc_knha_btt_fixed", r2, anova(r2, btt = "(alloc)s", fixed = TRUE),
         list(mods = c("factor(alloc)"), method = "REML", test = "knha"),
         list(btt = "(alloc)s", fixed = TRUE))
X2 <- rbind(c(0, 1, -1), c(1, 0, 0), c(1, 1, 0))
add_case("bcg_alloc_knha_X", r2, anova(r2, X = X2),
         list(mods = c("factor(alloc)"), method = "REML", test = "knha"), list(X = X2))
r3 <- rma(yi, vi, mods = ~ factor(alloc), data = bcg, method = "DL", test = "t", control = ctrl)
add_case("bcg_alloc_dl_t_X", r3, anova(r3, X = c(0, 1, -1)),
         list(mods = c("factor(alloc)"), method = "DL", test = "t"),
         list(X = rbind(c(0, 1, -1))))

# ---- rma.mv: dat.konstantopoulos2011 ~ I(year - 1990), dat.berkey1998 multivariate
dk <- dat.konstantopoulos2011
m1 <- rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = dk,
             control = mvctrl)
add_case("konst_year_X", m1, anova(m1, X = rbind(c(1, 0), c(1, 10))),
         list(dataset = "konstantopoulos2011", V = "vi", random = "~ 1 | district/school",
              mods = "~ I(year - 1990)", struct = "CS", test = "z"),
         list(X = rbind(c(1, 0), c(1, 10))))
add_case("konst_year_btt", m1, anova(m1, btt = 1:2),
         list(dataset = "konstantopoulos2011", V = "vi", random = "~ 1 | district/school",
              mods = "~ I(year - 1990)", struct = "CS", test = "z"), list(btt = c(1, 2)))
add_case("konst_year_btt_name", m1, anova(m1, btt = "year"),
         list(dataset = "konstantopoulos2011", V = "vi", random = "~ 1 | district/school",
              mods = "~ I(year - 1990)", struct = "CS", test = "z"), list(btt = "year"))
m2 <- rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = dk,
             test = "t", control = mvctrl)
add_case("konst_year_t_X", m2, anova(m2, X = c(1, 10)),
         list(dataset = "konstantopoulos2011", V = "vi", random = "~ 1 | district/school",
              mods = "~ I(year - 1990)", struct = "CS", test = "t"),
         list(X = rbind(c(1, 10))))
add_case("konst_year_t_btt", m2, anova(m2, btt = 1:2),
         list(dataset = "konstantopoulos2011", V = "vi", random = "~ 1 | district/school",
              mods = "~ I(year - 1990)", struct = "CS", test = "t"), list(btt = c(1, 2)))
db <- dat.berkey1998
Vb <- bldiag(lapply(split(db[, c("v1i", "v2i")], db$trial), as.matrix))
m3 <- rma.mv(yi, Vb, mods = ~ 0 + outcome, random = ~ outcome | trial, struct = "CS", data = db,
             control = mvctrl)
add_case("berkey_cs_X", m3, anova(m3, X = rbind(c(1, -1))),
         list(dataset = "berkey1998", V = "berkey1998_V", random = "~ outcome | trial",
              mods = "~ 0 + outcome", struct = "CS", test = "z"), list(X = rbind(c(1, -1))))

# ---- btt as a list of sets: one Wald test per set (metafor's "list.anova.rma"), and p-values
# adjusted for multiple testing. metafor 3.8.1 has no adjust= (added in metafor 4.0, where it is
# p.adjust of the sets' QMp, or of the rows' pval for X=), so the adjusted values here are R's
# p.adjust of metafor 3.8.1's p-values, for every p.adjust method
adj_methods <- c("holm", "hochberg", "hommel", "bonferroni", "BH", "BY", "fdr", "none")
list_cases <- list()
add_list <- function(name, a, fit_call, btt) {
  tab <- as.data.frame(a)
  pv <- sapply(a, function(x) x$QMp)
  list_cases[[name]] <<- list(
    fit = fit_call, btt = btt, specs = names(a),
    btts = lapply(a, function(x) vnum(x$btt)), QM = vnum(sapply(a, function(x) x$QM)),
    QMdf = lapply(a, function(x) vnum(x$QMdf)), QMp = vnum(pv),
    adjusted = lapply(setNames(adj_methods, adj_methods), function(m) p.adjust(pv, method = m)),
    print = paste(capture.output(print(a)), collapse = "\n"))
}
bcg_fit <- list(mods = c("ablat", "year"), method = "REML", test = "z")
add_list("bcg_list_2_3", anova(r1, btt = list(2, 3)), bcg_fit, list(2, 3))
add_list("bcg_list_23_3", anova(r1, btt = list(2:3, 3)), bcg_fit, list(c(2, 3), 3))
add_list("bcg_alloc_knha_list_names", anova(r2, btt = list("random", "systematic")),
         list(mods = c("factor(alloc)"), method = "REML", test = "knha"),
         list("random", "systematic"))
# a character vector of two or more strings: metafor's anova turns it into as.list(btt), one
# test per string (stored with char_vector = TRUE: called as btt=["ablat", "year"])
add_list("bcg_char_vector", anova(r1, btt = c("ablat", "year")), bcg_fit, c("ablat", "year"))
list_cases$bcg_char_vector$char_vector <- TRUE
add_list("bcg_alloc_knha_char_vector", anova(r2, btt = c("alloc", "intrcpt")),
         list(mods = c("factor(alloc)"), method = "REML", test = "knha"), c("alloc", "intrcpt"))
list_cases$bcg_alloc_knha_char_vector$char_vector <- TRUE
add_list("konst_year_t_list", anova(m2, btt = list(1, 2)),
         list(dataset = "konstantopoulos2011", V = "vi", random = "~ 1 | district/school",
              mods = "~ I(year - 1990)", struct = "CS", test = "t"), list(1, 2))
adjust_cases <- list()
add_adjust <- function(name, a, fit_call, X) {
  adjust_cases[[name]] <<- list(
    fit = fit_call, X = X, pval = vnum(a$pval), QMp = a$QMp,
    adjusted = lapply(setNames(adj_methods, adj_methods), function(m) p.adjust(a$pval, method = m)))
}
add_adjust("bcg_X", anova(r1, X = X1), bcg_fit, X1)
add_adjust("bcg_alloc_knha_X", anova(r2, X = X2),
           list(mods = c("factor(alloc)"), method = "REML", test = "knha"), X2)
X4 <- rbind(c(1, 0), c(1, 5), c(1, 10), c(0, 1))
add_adjust("konst_year_t_X4", anova(m2, X = X4),
           list(dataset = "konstantopoulos2011", V = "vi", random = "~ 1 | district/school",
                mods = "~ I(year - 1990)", struct = "CS", test = "t"), X4)

write_json(list(meta = list(metafor = as.character(packageVersion("metafor")),
                            R = R.version.string),
                bcg = bcg_cols, cases = cases, list_cases = list_cases,
                adjust_cases = adjust_cases),
           "tests/data/goldens_anova.json", digits = NA, auto_unbox = TRUE, na = "string",
           pretty = FALSE)
cat("wrote tests/data/goldens_anova.json\n")
