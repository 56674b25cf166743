# Regenerates tests/data/goldens_models_extension.json: reference values for
# metareview.models.regression (rma_reg), .subgroup (subgroup) and .smallstudy (regtest, ranktest,
# trimfill).
#
# Run from the repository root:
#     Rscript scripts/goldens/models_extension.R
# Needs R >= 4.2 with metafor 3.8 and metadat (Debian: r-cran-metafor r-cran-metadat) and jsonlite.
#
# Every model is fitted with control=list(threshold=1e-12, tol=1e-12, maxiter=5000), so iterative
# estimators are converged far beyond metafor's defaults. Non-finite numbers are written as the
# strings "NA", "NaN", "Inf" and "-Inf". A call that fails in metafor is stored with ok=false and
# its error message.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

# ---------------------------------------------------------------- datasets
# Each dataset: yi, vi, slab, measure and the moderator columns (numbers or strings; NA kept).
datasets <- list()
data_frames <- list()
add_dataset <- function(name, dat, measure, slab, columns, source) {
  datasets[[name]] <<- list(
    source = source,
    measure = measure,
    yi = as.numeric(dat$yi),
    vi = as.numeric(dat$vi),
    slab = as.character(slab),
    columns = lapply(dat[columns], function(x) if (is.numeric(x)) as.numeric(x) else as.character(x))
  )
  data_frames[[name]] <<- dat
}

d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_dataset("bcg_RR", d, "RR", paste(dat.bcg$author, dat.bcg$year), c("ablat", "year", "alloc"),
            "dat.bcg; escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg)")

d <- dat.raudenbush1985
add_dataset("raudenbush1985_SMD", d, "SMD", paste(d$author, d$year),
            c("weeks", "setting", "tester"), "dat.raudenbush1985; yi, vi as supplied")

d <- dat.bangertdrowns2004
add_dataset("bangertdrowns2004_SMD", d, "SMD", paste(d$author, d$year),
            c("grade", "length", "wic", "feedback", "ni"),
            "dat.bangertdrowns2004; yi, vi as supplied (some moderators missing)")

d <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add_dataset("molloy2014_ZCOR", d, "ZCOR", paste(dat.molloy2014$authors, dat.molloy2014$year),
            c("meanage", "quality", "design", "controls", "ni"),
            "dat.molloy2014; escalc(measure='ZCOR', ri=ri, ni=ni)")

d <- dat.hackshaw1998
add_dataset("hackshaw1998_OR", d, "OR", paste(d$author, d$year), c("design", "country"),
            "dat.hackshaw1998; yi, vi as supplied (log odds ratios)")

# dat.pagliaro1992 is arm-level (beta-blockers / sclerotherapy / control per study): each active arm
# is compared with the study's control arm (log odds ratio of bleeding), trt is the subgroup.
pg <- dat.pagliaro1992
ctl <- pg[pg$trt == "control", c("study", "xi", "ni")]
names(ctl) <- c("study", "xc", "nc")
act <- merge(pg[pg$trt != "control", ], ctl, by = "study")
act <- act[order(act$trt, act$study), ]
d <- escalc(measure = "OR", ai = xi, n1i = ni, ci = xc, n2i = nc, data = act)
add_dataset("pagliaro1992_OR", d, "OR", paste(d$trt, d$study), c("trt", "ni"),
            paste("dat.pagliaro1992; each active arm vs the study's control arm,",
                  "escalc(measure='OR', ai=xi, n1i=ni, ci=xc, n2i=nc)"))

# ---------------------------------------------------------------- meta-regression
methods <- c("EE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")
tests <- c("z", "knha")

# mods: right-hand side of the formula, written so that metareview can read the same string
specs <- list(
  list(dataset = "bcg_RR", mods = "ablat"),
  list(dataset = "bcg_RR", mods = "year"),
  list(dataset = "bcg_RR", mods = "ablat + year"),
  list(dataset = "bcg_RR", mods = "alloc"),
  list(dataset = "bcg_RR", mods = "ablat + alloc"),
  list(dataset = "raudenbush1985_SMD", mods = "weeks"),
  list(dataset = "raudenbush1985_SMD", mods = "weeks + tester"),
  list(dataset = "bangertdrowns2004_SMD", mods = "grade"),
  list(dataset = "bangertdrowns2004_SMD", mods = "length"),
  list(dataset = "bangertdrowns2004_SMD", mods = "factor(grade)"),
  list(dataset = "bangertdrowns2004_SMD", mods = "length + wic + feedback"),
  list(dataset = "molloy2014_ZCOR", mods = "meanage + quality"),
  list(dataset = "molloy2014_ZCOR", mods = "design"),
  list(dataset = "hackshaw1998_OR", mods = "design")
)

reg_fits <- list()
for (s in specs) {
  dat <- data_frames[[s$dataset]]
  f <- as.formula(paste("~", s$mods))
  for (method in methods) {
    for (test in tests) {
      res <- tryCatch(suppressWarnings(rma(yi, vi, mods = f, data = dat, method = method,
                                           test = test, control = ctrl)),
                      error = function(e) e)
      entry <- list(dataset = s$dataset, mods = s$mods, method = method, test = test)
      if (inherits(res, "error")) {
        entry$ok <- FALSE
        entry$error <- conditionMessage(res)
      } else {
        entry$ok <- TRUE
        entry$k <- res$k
        entry$coef_names <- rownames(res$beta)
        entry$b <- num(res$beta)
        entry$se <- num(res$se)
        entry$zval <- num(res$zval)
        entry$pval <- num(res$pval)
        entry$ci.lb <- num(res$ci.lb)
        entry$ci.ub <- num(res$ci.ub)
        entry$ddf <- num(res$ddf)[1]
        entry$tau2 <- num(res$tau2)
        entry$se.tau2 <- num(res$se.tau2)
        entry$I2 <- num(res$I2)
        entry$H2 <- num(res$H2)
        entry$R2 <- num(res$R2)
        entry$vt <- num(res$vt)
        entry$QE <- num(res$QE)
        entry$QEp <- num(res$QEp)
        entry$QM <- num(res$QM)
        entry$QMp <- num(res$QMp)
        entry$QMdf <- num(res$QMdf)
        entry$fit_ll_ML <- num(res$fit.stats["ll", "ML"])
        entry$fit_ll_REML <- num(res$fit.stats["ll", "REML"])
      }
      reg_fits[[length(reg_fits) + 1]] <- entry
    }
  }
}

# ---------------------------------------------------------------- subgroups
sub_specs <- list(
  list(dataset = "bcg_RR", by = "alloc"),
  list(dataset = "pagliaro1992_OR", by = "trt"),
  list(dataset = "molloy2014_ZCOR", by = "design"),
  list(dataset = "bangertdrowns2004_SMD", by = "grade")
)
subgroups <- list()
for (s in sub_specs) {
  dat <- data_frames[[s$dataset]]
  g <- dat[[s$by]]
  for (method in c("EE", "DL", "REML", "PM")) {
    for (test in tests) {
      lev <- sort(unique(g[!is.na(g)]))
      groups <- lapply(lev, function(l) {
        r <- rma(yi, vi, data = dat, subset = (g == l), method = method, test = test,
                 control = ctrl)
        list(level = as.character(l), k = r$k, b = num(r$beta), se = num(r$se),
             zval = num(r$zval), pval = num(r$pval), ci.lb = num(r$ci.lb), ci.ub = num(r$ci.ub),
             tau2 = num(r$tau2), I2 = num(r$I2), H2 = num(r$H2), QE = num(r$QE),
             QEp = num(r$QEp))
      })
      # (a) mixed-effects meta-regression with the subgroup factor (one common tau^2)
      common <- rma(yi, vi, mods = ~ factor(g), data = dat, method = method, test = test,
                    control = ctrl)
      # (b) separate tau^2 per subgroup: Wald-type test of the subgroup estimates (fixed-effect
      #     meta-regression of the estimates on the factor; equals Q of their EE pooling)
      est <- sapply(groups, `[[`, "b")
      se <- sapply(groups, `[[`, "se")
      separate <- rma(est, sei = se, mods = ~ factor(lev), method = "FE", control = ctrl)
      subgroups[[length(subgroups) + 1]] <- list(
        dataset = s$dataset, by = s$by, method = method, test = test, groups = groups,
        common_QM = num(common$QM), common_QMdf = num(common$QMdf), common_QMp = num(common$QMp),
        common_tau2 = num(common$tau2), common_QE = num(common$QE), common_QEp = num(common$QEp),
        separate_QM = num(separate$QM), separate_QMdf = num(separate$QMdf)[1],
        separate_QMp = num(separate$QMp)
      )
    }
  }
}

# ---------------------------------------------------------------- small-study effects
ss_data <- c("hackshaw1998_OR", "bcg_RR", "molloy2014_ZCOR", "raudenbush1985_SMD",
             "bangertdrowns2004_SMD", "pagliaro1992_OR")
regtests <- list()
ranktests <- list()
trimfills <- list()
for (name in ss_data) {
  dat <- data_frames[[name]]
  dat <- dat[!is.na(dat$yi) & !is.na(dat$vi), ]
  for (method in c("EE", "DL", "REML", "ML", "PM")) {
    for (test in tests) {
      res <- rma(yi, vi, data = dat, method = method, test = test, control = ctrl)
      for (model in c("rma", "lm")) {
        preds <- c("sei", "vi")
        if (!is.null(dat$ni) && model == "rma") preds <- c(preds, "ni", "ninv", "sqrtninv")
        for (pred in preds) {
          if (pred %in% c("ni", "ninv", "sqrtninv")) {
            rt <- regtest(res, model = model, predictor = pred, ni = dat$ni)
          } else {
            rt <- regtest(res, model = model, predictor = pred)
          }
          regtests[[length(regtests) + 1]] <- list(
            dataset = name, method = method, test = test, model = model, predictor = pred,
            zval = num(rt$zval), pval = num(rt$pval), ddf = num(rt$ddf),
            est = num(rt$est), ci.lb = num(rt$ci.lb), ci.ub = num(rt$ci.ub),
            slope = num(coef(rt$fit)[2]), tau2 = if (model == "rma") num(rt$fit$tau2) else NA
          )
        }
      }
      if (test == "z") {
        for (estimator in c("L0", "R0", "Q0")) {
          for (side in c("auto", "left", "right")) {
            tf <- if (side == "auto") {
              trimfill(res, estimator = estimator, control = ctrl, test = test)
            } else {
              trimfill(res, estimator = estimator, side = side, control = ctrl, test = test)
            }
            trimfills[[length(trimfills) + 1]] <- list(
              dataset = name, method = method, test = test, estimator = estimator,
              side_arg = side, side = tf$side, k0 = tf$k0, se.k0 = num(tf$se.k0),
              p.k0 = num(tf$p.k0), k = tf$k, b = num(tf$beta), se = num(tf$se),
              zval = num(tf$zval), pval = num(tf$pval), ci.lb = num(tf$ci.lb),
              ci.ub = num(tf$ci.ub), tau2 = num(tf$tau2), QE = num(tf$QE), QEp = num(tf$QEp),
              I2 = num(tf$I2), yi = num(tf$yi), vi = num(tf$vi), fill = as.logical(tf$fill)
            )
          }
        }
      }
    }
  }
  rk <- ranktest(res)
  rk_ne <- ranktest(res, exact = FALSE)
  ranktests[[length(ranktests) + 1]] <- list(
    dataset = name, tau = num(rk$tau), pval = num(rk$pval),
    pval_normal = num(rk_ne$pval), ties = any(duplicated(dat$vi))
  )
}

out <- list(
  generated_by = "scripts/goldens/models_extension.R",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  control = ctrl,
  datasets = datasets,
  regression = reg_fits,
  subgroups = subgroups,
  regtest = regtests,
  ranktest = ranktests,
  trimfill = trimfills
)
dir.create("tests/data", showWarnings = FALSE, recursive = TRUE)
write_json(out, "tests/data/goldens_models_extension.json", digits = NA, auto_unbox = TRUE,
           na = "string", pretty = FALSE)
cat("wrote tests/data/goldens_models_extension.json:", length(reg_fits), "regressions,",
    length(subgroups), "subgroup analyses,", length(regtests), "regtests,", length(ranktests),
    "ranktests,", length(trimfills), "trimfills\n")
