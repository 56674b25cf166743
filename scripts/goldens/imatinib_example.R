# Regenerate tests/data/goldens_imatinib_example.json: metafor's results for the bundled review
# (src/metareview/examples/imatinib-ssc), computed from the same inputs as studies.yaml.
#
# Run from the repository root:  Rscript scripts/goldens/imatinib_example.R
# Needs R with metafor (3.8.1 was used) and jsonlite. The inputs are typed here from
# studies.yaml (each with its status there); the Python tests check that the example still
# holds exactly these inputs, so a change in the data shows up as a test failure, not as a
# silently moved golden.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out <- list()
fit_summary <- function(res, transf = NULL, targs = NULL) {
  if (is.null(transf)) {
    p <- predict(res)
  } else if (is.null(targs)) {
    p <- predict(res, transf = transf)
  } else {
    p <- predict(res, transf = transf, targs = targs)
  }
  list(
    k = res$k, beta = as.numeric(res$beta), se = res$se, pval = res$pval,
    ci_lb = res$ci.lb, ci_ub = res$ci.ub, tau2 = res$tau2, I2 = res$I2, QE = res$QE,
    pred = as.numeric(p$pred), pred_ci_lb = as.numeric(p$ci.lb), pred_ci_ub = as.numeric(p$ci.ub),
    pi_lb = if (is.null(p$pi.lb)) NA else as.numeric(p$pi.lb),
    pi_ub = if (is.null(p$pi.ub)) NA else as.numeric(p$pi.ub)
  )
}

# ---- mRSS: mean change, follow-up minus baseline ------------------------------------------------
# Spiera 2011: change -6.6 (reported), p = 0.001 (reported), n = 24 (assumed) -> SE from paired t
# Khanna 2011: change -3.9 (reported), p = 0.001 (bound of "P < 0.001"), n = 20 (assumed)
# Pope 2011: 31.1 -> 29.4 (reported), SD 10.1 borrowed (assumed), n = 9 (assumed), ri (assumed)
se_spiera <- 6.6 / qt(1 - 0.001 / 2, 24 - 1)
se_khanna <- 3.9 / qt(1 - 0.001 / 2, 20 - 1)
mrss <- function(ri) {
  pope <- escalc("MC", m1i = 29.4, m2i = 31.1, sd1i = 10.1, sd2i = 10.1, ni = 9, ri = ri)
  data.frame(
    study = c("Spiera 2011", "Khanna 2011", "Pope 2011"),
    yi = c(-6.6, -3.9, as.numeric(pope$yi)),
    vi = c(se_spiera^2, se_khanna^2, as.numeric(pope$vi))
  )
}
d <- mrss(0.5)
out$mrss_inputs <- list(study = d$study, yi = d$yi, vi = d$vi,
                        se_spiera = se_spiera, se_khanna = se_khanna)
out$mrss_DL <- fit_summary(rma(yi, vi, data = d, method = "DL"))
out$mrss_REML <- fit_summary(rma(yi, vi, data = d, method = "REML"))
out$mrss_DL_knha <- fit_summary(rma(yi, vi, data = d, method = "DL", test = "knha"))
out$mrss_REML_knha <- fit_summary(rma(yi, vi, data = d, method = "REML", test = "knha"))
l1o <- leave1out(rma(yi, vi, data = d, method = "DL"))
out$mrss_leave1out <- list(estimate = as.numeric(l1o$estimate), ci_lb = as.numeric(l1o$ci.lb),
                           ci_ub = as.numeric(l1o$ci.ub))
out$mrss_ri <- lapply(c(0.3, 0.4, 0.5, 0.6, 0.7, 0.8), function(r) {
  c(list(ri = r), fit_summary(rma(yi, vi, data = mrss(r), method = "DL")))
})
# Spiera at 6 months instead of 12: -4.5, p bound 0.001, n 24 (scenario spiera_6_months)
d6 <- d
d6$yi[1] <- -4.5
d6$vi[1] <- (4.5 / qt(1 - 0.001 / 2, 24 - 1))^2
out$mrss_spiera_6_months <- fit_summary(rma(yi, vi, data = d6, method = "DL"))

# ---- proportions ----------------------------------------------------------------------------------
prop <- function(xi, ni, measure) {
  dat <- escalc(measure, xi = xi, ni = ni)
  res <- rma(yi, vi, data = dat, method = "DL")
  if (measure == "PLO") fit_summary(res, transf = transf.ilogit)
  else fit_summary(res, transf = transf.ipft.hm, targs = list(ni = ni))
}
# SAE: Pope 2/9 (assumed lower bound), Fraticelli 3/30 (assumed lower bound)
out$sae_PLO <- prop(c(2, 3), c(9, 30), "PLO")
out$sae_PFT <- prop(c(2, 3), c(9, 30), "PFT")
# Dropouts due to AEs: Khanna 7/20 (reported)
out$dropout_PLO <- prop(7, 20, "PLO")
out$dropout_PFT <- prop(7, 20, "PFT")
# bounds scenarios: Spiera 0..6/30, Fraticelli 0..3/30 added to Khanna 7/20
out$dropout_lower_PLO <- prop(c(0, 7, 0), c(30, 20, 30), "PLO")
out$dropout_upper_PLO <- prop(c(6, 7, 3), c(30, 20, 30), "PLO")
out$dropout_upper_PFT <- prop(c(6, 7, 3), c(30, 20, 30), "PFT")

out$metafor_version <- as.character(packageVersion("metafor"))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           "tests/data/goldens_imatinib_example.json")
