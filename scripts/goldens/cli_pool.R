# Goldens for tests/cli/test_pool.py: metafor 3.8 on dat.bcg (metadat), written as the CSV the
# CLI reads and the JSON it must print. Run from the repo root: Rscript scripts/goldens/cli_pool.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
bcg <- dat.bcg
csv <- data.frame(study = paste(bcg$author, bcg$year), alloc = bcg$alloc,
                  ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg)
write.csv(csv, "tests/data/cli/bcg.csv", row.names = FALSE)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
one <- function(fit, measure, method, test) {
  ci <- if (method %in% c("EE", "FE")) list(random = matrix(NA, 3, 3)) else confint(fit, control = ctrl)
  pr <- predict(fit)
  list(k = fit$k, measure = measure, method = method, test = test,
       estimate = fit$beta[1], se = fit$se, ci_lower = fit$ci.lb, ci_upper = fit$ci.ub,
       pvalue = fit$pval, tau2 = fit$tau2,
       tau2_ci_lower = ci$random[1, 2], tau2_ci_upper = ci$random[1, 3],
       I2 = fit$I2, H2 = fit$H2, Q = fit$QE, Q_pvalue = fit$QEp,
       pi_lower = if (is.null(pr$pi.lb)) NA else pr$pi.lb,
       pi_upper = if (is.null(pr$pi.ub)) NA else pr$pi.ub)
}
out <- list()
out$reml_z <- one(rma(yi, vi, data = dat, method = "REML", control = ctrl), "RR", "REML", "z")
out$dl_knha <- one(rma(yi, vi, data = dat, method = "DL", test = "knha", control = ctrl), "RR", "DL", "knha")
out$by_alloc <- lapply(split(dat, dat$alloc), function(d) {
  r <- one(rma(yi, vi, data = d, method = "REML", control = ctrl), "RR", "REML", "z")
  r$by <- as.character(d$alloc[1]); r })
names(out$by_alloc) <- NULL
mh <- rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg, measure = "OR")
out$mh_or <- list(k = mh$k, estimate = mh$beta[1], se = mh$se, ci_lower = mh$ci.lb,
                  ci_upper = mh$ci.ub, pvalue = mh$pval, Q = mh$QE, Q_pvalue = mh$QEp, I2 = mh$I2)
pt <- rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
out$peto <- list(k = pt$k, estimate = pt$beta[1], se = pt$se, ci_lower = pt$ci.lb,
                 ci_upper = pt$ci.ub, pvalue = pt$pval, Q = pt$QE, Q_pvalue = pt$QEp, I2 = pt$I2)
# --json per-study rows (metafor's summary.escalc() CI at level 95, weights() in percent),
# --transf exp (predict(res, transf = exp)) and the --by test for subgroup differences
# (separate tau^2: rma(estimate, sei = se, mods = ~ group, method = "FE")$QM).
reml <- rma(yi, vi, data = dat, method = "REML", control = ctrl)
sdat <- summary(dat)
out$studies <- list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi),
                    weight = as.numeric(weights(reml)), ci_lb = sdat$ci.lb, ci_ub = sdat$ci.ub)
pe <- predict(reml, transf = exp)
out$transf_exp <- list(estimate = pe$pred, ci_lower = pe$ci.lb, ci_upper = pe$ci.ub,
                       pi_lower = pe$pi.lb, pi_upper = pe$pi.ub)
groups <- lapply(split(dat, dat$alloc), function(d) rma(yi, vi, data = d, method = "REML", control = ctrl))
between <- rma(sapply(groups, function(g) g$beta[1]), sei = sapply(groups, function(g) g$se),
               mods = ~ names(groups), method = "FE")
out$by_alloc_test <- list(Q = between$QM, df = between$QMdf[1], pvalue = between$QMp)
mh_studies <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
out$mh_or$weight <- as.numeric(weights(mh))
out$mh_or$studies_yi <- as.numeric(mh_studies$yi)
out$mh_or$studies_vi <- as.numeric(mh_studies$vi)
pm <- predict(mh, transf = exp)
out$mh_or$transf_exp <- list(estimate = pm$pred, ci_lower = pm$ci.lb, ci_upper = pm$ci.ub)
# The --by test with DL per group, and the same effect sizes as a yi/vi file: `pool --measure GEN
# --by` reads that file by NumPy (the lean path), the test must not change.
dl_groups <- lapply(split(dat, dat$alloc), function(d) rma(yi, vi, data = d, method = "DL"))
dl_between <- rma(sapply(dl_groups, function(g) g$beta[1]), sei = sapply(dl_groups, function(g) g$se),
                  mods = ~ names(dl_groups), method = "FE")
out$by_alloc_test_dl <- list(Q = dl_between$QM, df = dl_between$QMdf[1], pvalue = dl_between$QMp)
write.csv(data.frame(alloc = dat$alloc, yi = as.numeric(dat$yi), vi = as.numeric(dat$vi)),
          "tests/data/cli/bcg_gen.csv", row.names = FALSE)
# The tau^2 estimators outside the batch core (metafor's HSk and PMM), without --by.
out$hsk_z <- one(rma(yi, vi, data = dat, method = "HSk", control = ctrl), "RR", "HSK", "z")
out$pmm_knha <- one(rma(yi, vi, data = dat, method = "PMM", test = "knha", control = ctrl),
                    "RR", "PMM", "knha")
# HSk in the batch core: `pool --method HSk --by alloc` per group, the test between the groups,
# and leave1out() of the HSk fit (tests/models/test_leave1out.py).
out$by_alloc_hsk <- lapply(split(dat, dat$alloc), function(d) {
  r <- one(rma(yi, vi, data = d, method = "HSk", control = ctrl), "RR", "HSK", "z")
  r$by <- as.character(d$alloc[1]); r })
names(out$by_alloc_hsk) <- NULL
hsk_groups <- lapply(split(dat, dat$alloc), function(d) rma(yi, vi, data = d, method = "HSk"))
hsk_between <- rma(sapply(hsk_groups, function(g) g$beta[1]), sei = sapply(hsk_groups, function(g) g$se),
                   mods = ~ names(hsk_groups), method = "FE")
out$by_alloc_test_hsk <- list(Q = hsk_between$QM, df = hsk_between$QMdf[1], pvalue = hsk_between$QMp)
l1o <- leave1out(rma(yi, vi, data = dat, method = "HSk"))
out$hsk_leave1out <- list(estimate = l1o$estimate, se = l1o$se, tau2 = l1o$tau2, I2 = l1o$I2,
                          H2 = l1o$H2, Q = l1o$Q, Qp = l1o$Qp)
# cumul() and trimfill() of the HSk fit, also refitted by the batch core.
cu <- cumul(rma(yi, vi, data = dat, method = "HSk"))
out$hsk_cumul <- list(estimate = cu$estimate, se = cu$se, tau2 = cu$tau2, I2 = cu$I2)
tf <- trimfill(rma(yi, vi, data = dat, method = "HSk"))
out$hsk_trimfill <- list(k0 = tf$k0, side = tf$side, estimate = tf$beta[1], se = tf$se,
                         tau2 = tf$tau2)
# PMM in the batch core (median-unbiased Paule-Mandel, a root search: tight control throughout,
# which leave1out() and cumul() pass on to their refits): `pool --method PMM --by alloc` per
# group, the test between the groups, leave1out(), cumul() and trimfill() of the PMM fit.
out$by_alloc_pmm <- lapply(split(dat, dat$alloc), function(d) {
  r <- one(rma(yi, vi, data = d, method = "PMM", control = ctrl), "RR", "PMM", "z")
  r$by <- as.character(d$alloc[1]); r })
names(out$by_alloc_pmm) <- NULL
pmm_groups <- lapply(split(dat, dat$alloc), function(d) rma(yi, vi, data = d, method = "PMM",
                                                           control = ctrl))
pmm_between <- rma(sapply(pmm_groups, function(g) g$beta[1]), sei = sapply(pmm_groups, function(g) g$se),
                   mods = ~ names(pmm_groups), method = "FE")
out$by_alloc_test_pmm <- list(Q = pmm_between$QM, df = pmm_between$QMdf[1], pvalue = pmm_between$QMp)
pmm_fit <- rma(yi, vi, data = dat, method = "PMM", control = ctrl)
l1o <- leave1out(pmm_fit)
out$pmm_leave1out <- list(estimate = l1o$estimate, se = l1o$se, tau2 = l1o$tau2, I2 = l1o$I2,
                          H2 = l1o$H2, Q = l1o$Q, Qp = l1o$Qp)
cu <- cumul(pmm_fit)
out$pmm_cumul <- list(estimate = cu$estimate, se = cu$se, tau2 = cu$tau2, I2 = cu$I2)
tf <- trimfill(pmm_fit)
out$pmm_trimfill <- list(k0 = tf$k0, side = tf$side, estimate = tf$beta[1], se = tf$se,
                         tau2 = tf$tau2)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           "tests/data/cli/bcg_pool_goldens.json")
