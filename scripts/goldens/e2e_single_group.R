# Goldens for the single-group review built through commands (tests/review/test_end_to_end_single.py):
# nine invented studies, each with the events over person-time of dat.nielweise2008's treated arm
# (x1i, t1i) and the mean, SD and size of dat.normand1999's first arm (m1i, sd1i, n1i), row i with
# row i (a pairing made up for the test: the numbers are metadat's, the studies are not real).
# Outcomes as the test's protocol names them: `infections` (IRLN), `infections_raw` (IR),
# `infections_sqrt` (IRS), `infections_ft` (IRFT) from escalc(measure, xi, ti); `stay` (MN),
# `stay_log` (MNLN), `stay_cv` (CVLN), `stay_sd` (SDLN) from escalc(measure, mi, sdi, ni); each
# rma(yi, vi, method = "REML", test = "z") fitted to tight convergence, with predict(transf = exp)
# for the log measures, and for those the protocol's sensitivity analyses (leave-one-out,
# DerSimonian-Laird) back-transformed.
# Run from the repo root: Rscript scripts/goldens/e2e_single_group.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
niel <- dat.nielweise2008
nor <- dat.normand1999
data <- data.frame(xi = niel$x1i, ti = niel$t1i, mi = nor$m1i, sdi = nor$sd1i, ni = nor$n1i)
fit_one <- function(dat, measure) {
  fit <- rma(yi, vi, data = dat, method = "REML", test = "z", control = ctrl)
  out <- list(measure = measure, k = fit$k, estimate = fit$beta[1], se = fit$se,
              ci_lower = fit$ci.lb, ci_upper = fit$ci.ub, pvalue = fit$pval, tau2 = fit$tau2,
              I2 = fit$I2, QE = fit$QE, QEp = fit$QEp, pi_lower = predict(fit)$pi.lb,
              pi_upper = predict(fit)$pi.ub, yi = as.numeric(dat$yi), vi = as.numeric(dat$vi))
  if (measure %in% c("IRLN", "MNLN", "CVLN", "SDLN")) {
    p <- predict(fit, transf = exp)
    out$transformed <- list(estimate = p$pred, ci_lower = p$ci.lb, ci_upper = p$ci.ub,
                            pi_lower = p$pi.lb, pi_upper = p$pi.ub)
    # the protocol's planned sensitivity analyses, back-transformed as the report shows them
    l1o <- leave1out(fit, transf = exp)  # refits with the fit's control
    out$leave1out_transformed <- list(estimate = l1o$estimate, ci_lower = l1o$ci.lb,
                                      ci_upper = l1o$ci.ub)
    dl <- predict(rma(yi, vi, data = dat, method = "DL"), transf = exp)
    out$dl_transformed <- list(estimate = dl$pred, ci_lower = dl$ci.lb, ci_upper = dl$ci.ub)
  }
  out
}
rates <- c(infections = "IRLN", infections_raw = "IR", infections_sqrt = "IRS",
           infections_ft = "IRFT")
means <- c(stay = "MN", stay_log = "MNLN", stay_cv = "CVLN", stay_sd = "SDLN")
out <- list(data = data)
for (o in names(rates)) out[[o]] <- fit_one(escalc(rates[[o]], xi = xi, ti = ti, data = data),
                                            rates[[o]])
for (o in names(means)) out[[o]] <- fit_one(escalc(means[[o]], mi = mi, sdi = sdi, ni = ni,
                                                   data = data), means[[o]])
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE,
                  dataframe = "rows"),
           "tests/data/e2e_single/goldens.json")
