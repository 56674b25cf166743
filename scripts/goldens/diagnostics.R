# Regenerates tests/data/goldens_diagnostics.json: reference values for metareview's diagnostics
# (metareview.models.influence, .cumul, .permutest, .confint, RegResult.predict) and the data drawn
# by report/diagnostic_plots.py (Baujat, radial, L'Abbe, regplot, profile).
#
# Run from the repository root:
#     Rscript scripts/goldens/diagnostics.R
# Needs R >= 4.2 with metafor 3.8 and metadat (Debian: r-cran-metafor r-cran-metadat) and jsonlite.
#
# Every model is fitted with control=list(threshold=1e-12, tol=1e-12, maxiter=5000) and the CIs
# are searched with tol=1e-12 on a wide interval (tau2.max), so the values are converged far
# beyond metafor's defaults. Non-finite numbers are written as "NA", "NaN", "Inf", "-Inf".

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

datasets <- list()
frames <- list()
add_dataset <- function(name, dat, measure, slab, columns, source) {
  datasets[[name]] <<- list(
    source = source, measure = measure,
    yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), slab = as.character(slab),
    columns = lapply(dat[columns], function(x) if (is.numeric(x)) as.numeric(x) else as.character(x))
  )
  frames[[name]] <<- dat
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_dataset("bcg_RR", bcg, "RR", paste(dat.bcg$author, dat.bcg$year),
            c("ablat", "year", "alloc", "tpos", "tneg", "cpos", "cneg"),
            "dat.bcg; escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg)")
nor <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
add_dataset("normand1999_MD", nor, "MD", dat.normand1999$source, character(0),
            "dat.normand1999; escalc(measure='MD', m1i, sd1i, n1i, m2i, sd2i, n2i)")
hack <- dat.hackshaw1998
add_dataset("hackshaw1998_OR", hack, "OR", paste(hack$author, hack$year), character(0),
            "dat.hackshaw1998; yi, vi as supplied (log odds ratios)")
bcg6 <- bcg[1:6, ]
add_dataset("bcg6_RR", bcg6, "RR", paste(dat.bcg$author, dat.bcg$year)[1:6], c("ablat"),
            "dat.bcg rows 1-6; escalc(measure='RR', ...)")

fit_model <- function(ds, mods, method, test) {
  dat <- frames[[ds]]
  if (is.null(mods)) {
    rma(yi, vi, data = dat, method = method, test = test, control = ctrl)
  } else {
    rma(yi, vi, mods = as.formula(paste("~", mods)), data = dat, method = method, test = test,
        control = ctrl)
  }
}

ci_rows <- function(ci) {
  r <- ci$random
  list(tau2 = num(r["tau^2", ]), tau = num(r["tau", ]), I2 = num(r["I^2(%)", ]),
       H2 = num(r["H^2", ]), lb_sign = ci$lb.sign, ub_sign = ci$ub.sign)
}

pdf(NULL)
specs <- list(
  list(id = "bcg_REML", dataset = "bcg_RR", mods = NULL, method = "REML", test = "z"),
  list(id = "bcg_DL_knha", dataset = "bcg_RR", mods = NULL, method = "DL", test = "knha"),
  list(id = "bcg_ablat_REML", dataset = "bcg_RR", mods = "ablat", method = "REML", test = "z"),
  list(id = "bcg_ablat_alloc_REML", dataset = "bcg_RR", mods = "ablat + alloc", method = "REML",
       test = "knha"),
  list(id = "normand_DL", dataset = "normand1999_MD", mods = NULL, method = "DL", test = "z"),
  list(id = "hackshaw_REML", dataset = "hackshaw1998_OR", mods = NULL, method = "REML", test = "z"),
  list(id = "hackshaw_ML", dataset = "hackshaw1998_OR", mods = NULL, method = "ML", test = "z"),
  list(id = "bcg6_ablat_REML", dataset = "bcg6_RR", mods = "ablat", method = "REML", test = "z")
)
fits <- list()
for (s in specs) {
  r <- fit_model(s$dataset, s$mods, s$method, s$test)
  out <- list(id = s$id, dataset = s$dataset, mods = if (is.null(s$mods)) NA else s$mods,
              method = s$method, test = s$test, beta = num(r$beta), tau2 = r$tau2)
  inf <- influence(r)
  out$influence <- list(
    rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
    cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), QE_del = num(inf$inf$QE.del),
    hat = num(inf$inf$hat), weight = num(inf$inf$weight), inf = as.character(inf$inf$inf),
    dfbs = lapply(unclass(inf$dfbs)[seq_len(r$p)], num), is_infl = as.logical(inf$is.infl))
  rs <- rstandard(r)
  out$rstandard <- list(resid = num(rs$resid), se = num(rs$se), z = num(rs$z))
  rt <- rstudent(r)
  out$rstudent <- list(resid = num(rt$resid), se = num(rt$se), z = num(rt$z))
  b <- baujat(r)
  out$baujat <- list(x = num(b$x), y = num(b$y))
  if (r$int.only) {
    rd <- radial(r)
    out$radial <- list(x = num(rd$x), y = num(rd$y))
  }
  tmax <- max(1e4, 1e4 * r$tau2)
  out$confint_QP <- ci_rows(confint(r, type = "QP", control = list(tol = 1e-12, tau2.max = tmax)))
  out$confint_PL <- ci_rows(confint(r, type = "PL", control = list(tol = 1e-12, tau2.max = tmax)))
  out$confint_QP_default <- ci_rows(confint(r))
  ci <- confint(r, fixed = TRUE, random = FALSE)
  out$confint_fixed <- list(estimate = num(ci$fixed[, 1]), ci_lb = num(ci$fixed[, 2]),
                            ci_ub = num(ci$fixed[, 3]))
  pr <- profile(r, xlim = c(0, 2 * max(r$tau2, 0.1)), steps = 11, plot = FALSE)
  out$profile <- list(tau2 = num(pr$tau2), ll = num(pr$ll))
  out$logLik <- as.numeric(logLik(r))
  if (r$int.only) {
    cu <- cumul(r)
    out$cumul <- list(estimate = num(cu$estimate), se = num(cu$se), zval = num(cu[[3]]),
                      pval = num(cu$pvals), ci_lb = num(cu$ci.lb), ci_ub = num(cu$ci.ub),
                      Q = num(cu$Q), Qp = num(cu$Qp), tau2 = num(cu$tau2), I2 = num(cu$I2),
                      H2 = num(cu$H2))
    ordv <- frames[[s$dataset]]$vi
    cu <- cumul(r, order = ordv)
    out$cumul_by_vi <- list(estimate = num(cu$estimate), se = num(cu$se), tau2 = num(cu$tau2),
                            I2 = num(cu$I2), slab = as.character(cu$slab))
    p <- predict(r)
    out$predict <- list(pred = num(p$pred), se = num(p$se), ci_lb = num(p$ci.lb),
                        ci_ub = num(p$ci.ub), pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub))
  } else {
    out$predict_fitted <- with(predict(r), list(pred = num(pred), se = num(se),
      ci_lb = num(ci.lb), ci_ub = num(ci.ub), pi_lb = num(pi.lb), pi_ub = num(pi.ub)))
    rp <- regplot(r, mod = 2)
    out$regplot <- list(xi = num(rp$xi), yi = num(rp$yi), psize = num(rp$psize))
  }
  if (s$id %in% c("bcg_REML", "normand_DL", "bcg6_ablat_REML", "bcg_DL_knha")) {
    pt <- permutest(r, exact = TRUE, control = list())
    out$permutest_exact <- list(pval = num(pt$pval), QMp = num(pt$QMp), iter = num(pt$permdist$iter))
  }
  fits[[s$id]] <- out
}

# predictions at new moderator values
r <- fit_model("bcg_RR", "ablat", "REML", "z")
p <- predict(r, newmods = c(10, 30, 50))
p2 <- predict(r, newmods = c(10, 30, 50), transf = exp)
newmods <- list(
  list(id = "bcg_ablat_REML", newmods = list(c(10), c(30), c(50)),
       pred = num(p$pred), se = num(p$se), ci_lb = num(p$ci.lb), ci_ub = num(p$ci.ub),
       pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub),
       exp = list(pred = num(p2$pred), ci_lb = num(p2$ci.lb), ci_ub = num(p2$ci.ub),
                  pi_lb = num(p2$pi.lb), pi_ub = num(p2$pi.ub))))
r <- fit_model("bcg_RR", "ablat + alloc", "REML", "knha")
nm <- rbind(c(20, 0, 1), c(40, 1, 0), c(50, 0, 0))  # ablat, allocrandom, allocsystematic
p <- predict(r, newmods = nm)
newmods[[2]] <- list(id = "bcg_ablat_alloc_REML",
  newmods = lapply(seq_len(nrow(nm)), function(i) nm[i, ]),
  levels = list(list(ablat = 20, alloc = "systematic"), list(ablat = 40, alloc = "random"),
                list(ablat = 50, alloc = "alternate")),
  pred = num(p$pred), se = num(p$se), ci_lb = num(p$ci.lb), ci_ub = num(p$ci.ub),
  pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub))

# L'Abbe plot data (arm-level log risks, as escalc(measure="PLN"), with metafor's 1/2 correction)
r <- rma(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg,
         control = ctrl)
lb <- labbe(r)
labbe_out <- list(x = num(lb$x), y = num(lb$y), psize = num(lb$cex))

# Normand 1999 (MD, DL): metafor's default Q-profile search stops at max(100, 10 tau2)
r <- fit_model("normand1999_MD", NULL, "DL", "z")
cap <- ci_rows(confint(r))

res <- list(
  meta = list(metafor = as.character(packageVersion("metafor")), R = R.version.string,
              control = ctrl, generated_by = "scripts/goldens/diagnostics.R"),
  datasets = datasets, fits = fits, newmods = newmods, labbe = labbe_out,
  normand_default_cap = cap)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, na = "string", pretty = FALSE),
           "tests/data/goldens_diagnostics.json")
