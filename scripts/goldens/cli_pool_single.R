# Goldens for the single-group measures of `metareview pool` (tests/cli/test_pool.py): metafor
# 3.8 rma() (REML, z) on escalc("IRLN"/"IR"/"IRFT", xi, ti) of dat.nielweise2008's treated arm and
# escalc("MN"/"MNLN", mi, sdi, ni) of dat.normand1999's first arm, written as the CSVs the CLI
# reads and the JSON it must print. Run from the repo root: Rscript scripts/goldens/cli_pool_single.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
niel <- dat.nielweise2008
rates <- data.frame(study = niel$authors, xi = niel$x1i, ti = niel$t1i)
nor <- dat.normand1999
means <- data.frame(study = nor$source, mi = nor$m1i, sdi = nor$sd1i, ni = nor$n1i)
write.csv(rates, "tests/data/cli/nielweise2008_rates.csv", row.names = FALSE)
write.csv(means, "tests/data/cli/normand1999_arm1.csv", row.names = FALSE)
one <- function(dat, measure) {
  fit <- rma(yi, vi, data = dat, method = "REML", control = ctrl)
  ci <- confint(fit, control = ctrl)
  pr <- predict(fit)
  list(k = fit$k, measure = measure, method = "REML", test = "z",
       estimate = fit$beta[1], se = fit$se, ci_lower = fit$ci.lb, ci_upper = fit$ci.ub,
       pvalue = fit$pval, tau2 = fit$tau2,
       tau2_ci_lower = ci$random[1, 2], tau2_ci_upper = ci$random[1, 3],
       I2 = fit$I2, H2 = fit$H2, Q = fit$QE, Q_pvalue = fit$QEp,
       pi_lower = pr$pi.lb, pi_upper = pr$pi.ub)
}
out <- list()
for (m in c("IR", "IRLN", "IRFT")) out[[m]] <- one(escalc(m, xi = xi, ti = ti, data = rates), m)
for (m in c("MN", "MNLN")) out[[m]] <- one(escalc(m, mi = mi, sdi = sdi, ni = ni, data = means), m)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/data/cli/single_group_pool_goldens.json")
