# Regenerate tests/data/goldens_grade.json: the metafor fits that metareview's GRADE rules read
# (BCG vaccine trials, metadat's dat.bcg), for tests/appraisal/test_grade_bcg.py.
#
# Run from the repository root:  Rscript scripts/goldens/grade.R
# Needs R with metafor (3.8.1 was used), metadat and jsonlite. For RR and OR with REML: the
# pooled estimate and CI back-transformed with exp (the relative effect of the summary of
# findings), the prediction interval, I^2, the weights (percent), and Egger's regression test
# (regtest(res), metafor's default: a mixed-effects meta-regression on the standard error).

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

dat0 <- dat.bcg
cases <- list()
for (measure in c("RR", "OR")) {
  dat <- escalc(measure = measure, ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat0)
  res <- rma(yi, vi, data = dat, method = "REML")
  pr <- predict(res, transf = exp)
  rt <- regtest(res)
  cases[[measure]] <- list(
    measure = measure,
    call = sprintf("rma(yi, vi, method = 'REML') on escalc('%s', dat.bcg)", measure),
    k = res$k,
    beta = as.numeric(res$beta), ci_lb = res$ci.lb, ci_ub = res$ci.ub,
    estimate = as.numeric(pr$pred), ci_lower = as.numeric(pr$ci.lb),
    ci_upper = as.numeric(pr$ci.ub), pi_lower = as.numeric(pr$pi.lb),
    pi_upper = as.numeric(pr$pi.ub),
    I2 = res$I2, tau2 = res$tau2,
    weights = as.numeric(weights(res)),
    yi = as.numeric(dat$yi),
    regtest_z = rt$zval, regtest_p = rt$pval
  )
}
out <- list(
  source = "metadat dat.bcg (Colditz et al. 1994), metafor 3.8.1",
  metafor = as.character(packageVersion("metafor")),
  study = paste(dat0$author, dat0$year),
  alloc = dat0$alloc,
  tpos = dat0$tpos, tneg = dat0$tneg, cpos = dat0$cpos, cneg = dat0$cneg,
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/data/goldens_grade.json")
