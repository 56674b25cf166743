# Goldens for the single-group rate review pre-filled from ClinicalTrials.gov
# (tests/review/test_end_to_end_registry_rates.py): the two invented cohorts of
# tests/data/e2e_single/ctgov_rates.json post 7 infections over 1344 catheter-days (LOCK-1) and 8
# over 1600 (LOCK-2), rows 1-2 of dat.nielweise2008's treated arm (x1i, t1i). The review pools
# them as IRLN (REML, z); metafor's rma() at tight convergence and predict(transf = exp). The
# registry's own rates are checked against R's exact Poisson CI (poisson.test), as the fixture
# posts them.
# Run from the repo root: Rscript scripts/goldens/e2e_registry_rates.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
niel <- dat.nielweise2008[1:2, ]
dat <- escalc("IRLN", xi = niel$x1i, ti = niel$t1i)
fit <- rma(yi, vi, data = dat, method = "REML", test = "z", control = ctrl)
p <- predict(fit, transf = exp)
posted <- lapply(seq_len(nrow(niel)), function(i) {
  ci <- poisson.test(niel$x1i[i], niel$t1i[i])$conf.int * 1000
  list(rate_per_1000 = 1000 * niel$x1i[i] / niel$t1i[i], ci_lower = ci[1], ci_upper = ci[2])
})
out <- list(
  data = data.frame(xi = niel$x1i, ti = niel$t1i),
  crbsi = list(measure = "IRLN", k = fit$k, estimate = fit$beta[1], se = fit$se,
               ci_lower = fit$ci.lb, ci_upper = fit$ci.ub, tau2 = fit$tau2, QE = fit$QE,
               yi = as.numeric(dat$yi), vi = as.numeric(dat$vi),
               transformed = list(estimate = p$pred, ci_lower = p$ci.lb, ci_upper = p$ci.ub)),
  posted_rates = posted
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE,
                  dataframe = "rows"),
           "tests/data/e2e_single/goldens_registry.json")
