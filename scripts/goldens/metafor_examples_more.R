# Writes tests/data/metafor_examples_more.json: metafor's own values for the calls of the
# published-example tests that tests/models/test_metafor_examples_more.py repeats
# (tests/testthat/test_analysis_example_{berkey1995,dersimonian2007,henmi2010,jackson2014,
# miller1978,morris2008,normand1999,raudenbush1985,viechtbauer2005,yusuf1985}.r in the metafor
# repository), so that those tests compare with metafor at 1e-6 as well as with the published
# values at the test files' tolerance. Iterative steps run to tight tolerances
# (threshold/tol 1e-12), which moves metafor's values by less than 1e-4 from its defaults.
#
#     Rscript scripts/goldens/metafor_examples_more.R
# Needs metafor 3.8 with metadat and jsonlite. confint(type GENQ) and method GENQM need
# CompQuadForm: those values are not written here but by scripts/goldens/confint_genq.R.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
ci_ctrl <- list(tol = 1e-12)
out <- list(metafor = as.character(packageVersion("metafor")))
fit <- function(x) list(beta = as.numeric(coef(x)), se = as.numeric(x$se), tau2 = x$tau2,
                        se_tau2 = x$se.tau2, ci_lb = as.numeric(x$ci.lb),
                        ci_ub = as.numeric(x$ci.ub), QE = x$QE, zval = as.numeric(x$zval),
                        I2 = x$I2, H2 = x$H2)
lst <- function(x) list(pred = as.numeric(x$pred), se = as.numeric(x$se),
                        pi_lb = as.numeric(x$pi.lb), pi_ub = as.numeric(x$pi.ub))

# ---------------------------------------------------------------- berkey1995 (lines 10-67)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat$vi <- with(dat, sum(tneg/tpos)/(13*(tneg+tpos)) + sum(cneg/cpos)/(13*(cneg+cpos)))
re <- rma(yi, vi, data = dat, method = "EB", control = ctrl)
me <- rma(yi, vi, mods = ~ I(ablat - 33.46), data = dat, method = "EB", control = ctrl)
fe <- rma(yi, vi, mods = ~ I(ablat - 33.46), data = dat, method = "FE")
out$berkey1995 <- list(
  vi = as.numeric(dat$vi), RE = fit(re), ME = fit(me), FE = fit(fe),
  R2 = suppressWarnings(anova(re, me))$R2,
  ME_pred = as.numeric(predict(me, newmods = c(33.46, 42) - 33.46, transf = exp)$pred),
  FE_pred = as.numeric(predict(fe, newmods = c(33.46, 42) - 33.46, transf = exp)$pred))
av <- function(a) list(LRT = a$LRT, pval = a$pval, R2 = a$R2, parms = c(a$parms.f, a$parms.r),
                       f = as.list(a$fit.stats.f), r = as.list(a$fit.stats.r))
out$berkey1995$anova <- av(suppressWarnings(anova(re, me)))
# anova() for ML, REML and EE fits with and without ablat (dat.bcg, usual vi)
d0 <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
out$anova_bcg <- lapply(c(ML = "ML", REML = "REML", EE = "EE"), function(m)
  av(suppressWarnings(anova(rma(yi, vi, data = d0, method = m, control = ctrl),
                            rma(yi, vi, mods = ~ ablat, data = d0, method = m, control = ctrl)))))

# ---------------------------------------------------------------- dersimonian2007 (lines 10-53)
d <- escalc(measure = "OR", ai = c(5, 5, 12, 69, 9, 313), n1i = c(156, 303, 565, 1570, 103, 4659),
            ci = c(8, 17, 9, 94, 11, 352), n2i = c(74, 303, 477, 1565, 105, 4650))
ca <- rma(yi, vi, method = "HE", data = d)
dl <- rma(yi, vi, method = "DL", data = d)
ca2 <- rma(yi, vi, method = "GENQ", weights = 1/(vi + ca$tau2), data = d)
dl2 <- rma(yi, vi, method = "GENQ", weights = 1/(vi + dl$tau2), data = d)
ders <- list(
  PM = rma(yi, vi, method = "PM", data = d, control = ctrl), CA = ca, DL = dl,
  CA2 = rma(yi, vi, tau2 = ca2$tau2, data = d), DL2 = rma(yi, vi, tau2 = dl2$tau2, data = d),
  EB = rma(yi, vi, method = "EB", data = d, control = ctrl),
  ML = rma(yi, vi, method = "ML", data = d, control = ctrl),
  REML = rma(yi, vi, method = "REML", data = d, control = ctrl),
  HS = rma(yi, vi, method = "HS", data = d), SJ = rma(yi, vi, method = "SJ", data = d),
  SJ2 = rma(yi, vi, method = "SJ", data = d, control = list(tau2.init = ca$tau2)),
  HSk = rma(yi, vi, method = "HSk", data = d),
  PMM = rma(yi, vi, method = "PMM", data = d, control = ctrl))
out$dersimonian2007 <- lapply(ders, function(x) list(tau = sqrt(x$tau2), mu = as.numeric(coef(x)),
                                                     se = x$se))
out$dersimonian2007$genq_tau2 <- list(CA2 = ca2$tau2, DL2 = dl2$tau2)

# ---------------------------------------------------------------- henmi2010 (lines 10-40)
d <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.lee2004)
res <- rma(yi, vi, data = d, method = "DL")
sav <- hc(res, control = list(tol = 1e-12))
out$henmi2010 <- list(rma = fit(res), hc = list(beta = sav$beta, se = sav$se, ci_lb = sav$ci.lb,
                                                ci_ub = sav$ci.ub, tau2 = sav$tau2))

# ---------------------------------------------------------------- jackson2014 (lines 13-85)
jack <- function(yi, vi, xi) {
  res <- rma(yi, vi, mods = ~ xi, control = ctrl)
  wald <- exp(log(res$tau2) + c(-1.96, 1.96) * (1/res$tau2 * res$se.tau2))
  pm <- rma(yi, vi, mods = ~ xi, method = "PM", control = ctrl)
  g1 <- rma(yi, vi, mods = ~ xi, method = "GENQ", weights = 1/vi)
  g2 <- rma(yi, vi, mods = ~ xi, method = "GENQ", weights = 1/sqrt(vi))
  list(REML = fit(res), wald_ci = wald, PM = fit(pm),
       PM_ci = as.numeric(confint(pm, control = ci_ctrl)$random[1, 2:3]),
       GENQ_iv_tau2 = g1$tau2, GENQ_se_tau2 = g2$tau2)
}
out$jackson2014 <- list(
  ex1 = jack(c(0.0267, 0.8242, 0.3930, 2.4405, 2.1401, 1.2528, 2.4849, 0.3087,
               1.4246, 0.1823, 1.1378, 1.2321, 2.0695, 4.0237, 1.4383, 1.6021),
             c(0.1285, 0.0315, 0.0931, 2.0967, 1.0539, 0.1602, 1.0235, 0.0218,
               0.5277, 0.0556, 0.3304, 0.1721, 0.4901, 2.0200, 0.3399, 0.1830),
             c(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1)),
  ex2 = jack(c(0.54, 0.4, 0.64, 0.365, 0.835, 0.02, 0.12, 0.085, 1.18, 0.08, 0.18,
               0.325, 0.06, 0.715, 0.065, 0.245, 0.24, 0.06, 0.19),
             c(0.0176, 0.019, 0.0906, 0.0861, 0.0063, 0.0126, 0.0126, 0.0041, 0.0759,
               0.0126, 0.0104, 0.0242, 0.0026, 0.2629, 0.0169, 0.0156, 0.0481, 0.0084, 0.0044),
             c(1986, 1987, 1988, 1988, 1998, 1999, 2000, 2000, 2000, 2001, 2001, 2001,
               2002, 2002, 2002, 2002, 2003, 2003, 2003)))

# ---------------------------------------------------------------- miller1978 (lines 10-75)
d <- escalc(measure = "PFT", xi = c(3, 6, 10, 1), ni = c(11, 17, 21, 6))
u <- rma(yi, vi, method = "EE", data = d, weighted = FALSE)
w <- rma(yi, vi, method = "EE", data = d)
d5 <- escalc(measure = "PFT", xi = c(0, 4, 9, 16, 20), ni = c(10, 10, 15, 20, 20), add = 0)
p5 <- predict(rma(yi, vi, method = "EE", data = d5), transf = transf.ipft.hm, targs = list(ni = c(10, 10, 15, 20, 20)))
out$miller1978 <- list(
  yi = as.numeric(d$yi), vi = as.numeric(d$vi),
  unweighted_beta = as.numeric(coef(u)), unweighted_se = u$se,
  unweighted_ipft = predict(u, transf = transf.ipft.hm, targs = list(ni = c(11, 17, 21, 6)))$pred,
  weighted_beta = as.numeric(coef(w)),
  weighted_ipft = predict(w, transf = transf.ipft.hm, targs = list(ni = c(11, 17, 21, 6)))$pred,
  five = list(pred = p5$pred, ci_lb = p5$ci.lb, ci_ub = p5$ci.ub))

# ---------------------------------------------------------------- morris2008 (lines 11-80)
datT <- data.frame(m_pre = c(30.6, 23.5, 0.5, 53.4, 35.6), m_post = c(38.5, 26.8, 0.7, 75.9, 36.0),
                   sd_pre = c(15.0, 3.1, 0.1, 14.5, 4.7), sd_post = c(11.6, 4.1, 0.1, 4.4, 4.6),
                   ni = c(20, 50, 9, 10, 14), ri = c(.47, .64, .77, .89, .44))
datC <- data.frame(m_pre = c(23.1, 24.9, 0.6, 55.7, 34.8), m_post = c(19.7, 25.3, 0.6, 60.7, 33.4),
                   sd_pre = c(13.8, 4.1, 0.2, 17.3, 3.1), sd_post = c(14.8, 3.3, 0.2, 17.9, 6.9),
                   ni = c(20, 42, 9, 11, 14), ri = c(.47, .64, .77, .89, .44))
smcr <- function(x) escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_pre, ni = ni,
                           ri = ri, data = x)
smcc <- function(x) escalc(measure = "SMCC", m1i = m_post, m2i = m_pre, sd1i = sd_post,
                           sd2i = sd_pre, ni = ni, ri = ri, data = x)
ev <- function(x) list(yi = as.numeric(x$yi), vi = as.numeric(x$vi))
out$morris2008 <- list(SMCR_T = ev(smcr(datT)), SMCR_C = ev(smcr(datC)),
                       SMCC_T = ev(smcc(datT)), SMCC_C = ev(smcc(datC)),
                       cmicalc = metafor:::.cmicalc(datT$ni + datC$ni - 2))

# ---------------------------------------------------------------- normand1999 (lines 12-102)
d <- escalc(measure = "RD", n1i = n1i, n2i = n2i, ai = ai, ci = ci, data = dat.hine1989)
d$yi <- d$yi * 100
d$vi <- d$vi * 100^2
s <- summary(d)
out$normand1999 <- list(hine = list(
  yi = as.numeric(d$yi), vi = as.numeric(d$vi), ci_lb = s$ci.lb, ci_ub = s$ci.ub,
  EE = fit(rma(yi, vi, data = d, method = "EE")),
  REML = fit(rma(yi, vi, data = d, control = ctrl)),
  DL = fit(rma(yi, vi, data = d, method = "DL"))))
n99 <- dat.normand1999
n99$sdpi <- with(n99, sqrt(((n1i-1)*sd1i^2 + (n2i-1)*sd2i^2)/(n1i+n2i-2)))
d <- escalc(m1i = m1i, sd1i = sdpi, n1i = n1i, m2i = m2i, sd2i = sdpi, n2i = n2i, measure = "MD",
            data = n99)
s <- summary(d)
out$normand1999$normand <- list(
  yi = as.numeric(d$yi), vi = as.numeric(d$vi), ci_lb = s$ci.lb, ci_ub = s$ci.ub,
  EE = fit(rma(yi, vi, data = d, method = "EE")),
  DL = fit(rma(yi, vi, data = d, method = "DL")),
  REML = fit(rma(yi, vi, data = d, control = ctrl)))

# ---------------------------------------------------------------- raudenbush1985 (lines 10-100)
d <- dat.raudenbush1985
res <- rma(yi, vi, data = d, control = ctrl)
d$weeks.c <- ifelse(d$weeks > 3, 3, d$weeks)
me <- rma(yi, vi, mods = ~ weeks.c, data = d, control = ctrl)
pr <- predict(me)
out$raudenbush1985 <- list(
  RE = fit(res), RE_blup = lst(blup(res)), RE_ranef = lst(ranef(res)),
  ME = fit(me), ME_blup = lst(blup(me)), ME_ranef = lst(ranef(me)),
  ME_default_tau2 = rma(yi, vi, mods = ~ weeks.c, data = d)$tau2,
  # lines 44, 51, 106: profile(); the numbers of the plots (plot = FALSE)
  RE_profile_xlim = with(profile(res, xlim = c(0, .20), progbar = FALSE, plot = FALSE),
                         list(tau2 = tau2, ll = ll, beta = beta[[1]],
                              ci_lb = ci.lb[[1]], ci_ub = ci.ub[[1]],
                              maxll = as.numeric(maxll))),
  RE_profile = with(profile(res, progbar = FALSE, plot = FALSE), list(tau2 = tau2, ll = ll)),
  RE_qp_ci_tight = as.numeric(confint(res, control = ci_ctrl)$random[1, 2:3]),
  # lines 113-117: regplot() returns the points it draws
  ME_regplot = local({
    pdf(NULL)
    r <- regplot(me, xlab = "Weeks of Prior Contact", bty = "l", las = 1, digits = 1, refline = 0,
                 xaxt = "n")
    invisible(dev.off())
    list(xi = r$xi, yi = r$yi, psize = r$psize, pred = r$pred)
  }),
  ME_profile_xlim = with(profile(me, xlim = c(0, .06), progbar = FALSE, plot = FALSE),
                         list(tau2 = tau2, ll = ll)),
  ME_predict = list(pred = as.numeric(pr$pred), ci_lb = as.numeric(pr$ci.lb),
                    ci_ub = as.numeric(pr$ci.ub)))

# ---------------------------------------------------------------- viechtbauer2005 (lines 10-68)
v05 <- function(yi, vi) {
  ms <- c("HS", "HE", "DL", "ML", "REML", "EB", "SJ")
  r <- lapply(ms, function(m) rma(yi, vi, method = m, control = ctrl))
  list(tau2 = sapply(r, `[[`, "tau2"), I2 = sapply(r, `[[`, "I2"), H2 = sapply(r, `[[`, "H2"),
       se_tau2 = sapply(r, `[[`, "se.tau2"))
}
out$viechtbauer2005 <- list(
  ex1 = v05(c(-0.581, 0.530, 0.771, 1.031, 0.553, 0.295, 0.078, 0.573, -0.176, -0.232),
            c(0.023, 0.052, 0.060, 0.115, 0.095, 0.203, 0.200, 0.211, 0.051, 0.040)),
  ex2 = v05(c(0.100, -0.162, -0.090, -0.049, -0.046, -0.010, -0.431, -0.261, 0.134, 0.019,
              0.175, 0.056, 0.045, 0.103, 0.121, -0.482, 0.290, 0.342),
            c(0.016, 0.015, 0.050, 0.050, 0.032, 0.052, 0.036, 0.024, 0.034, 0.033, 0.031,
              0.034, 0.039, 0.167, 0.134, 0.096, 0.016, 0.035)))

# ---------------------------------------------------------------- yusuf1985 (lines 53-75)
y6 <- dat.yusuf1985[dat.yusuf1985$table == "6", ]
peto <- suppressWarnings(rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = y6))
d <- suppressWarnings(escalc(measure = "PETO", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = y6,
                             add = 0))
ee <- suppressWarnings(rma(yi, vi, data = d, method = "EE"))
out$yusuf1985 <- list(
  peto = with(predict(peto, transf = exp), c(pred, ci.lb, ci.ub)),
  iv = with(predict(ee, transf = exp), c(pred, ci.lb, ci.ub)),
  iv_k = ee$k)
# lines 22-25: llplot() returns the curves it draws (invisibly); every 10th of the 1000 x values
# is stored (NA where the curve is not drawn)
pdf(NULL)
ll <- function(scale) {
  l <- suppressWarnings(llplot(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.yusuf1985,
                               subset = (table == "6"), drop00 = FALSE, lwd = 1, xlim = c(-5, 5),
                               scale = scale))
  cols <- seq(1, 1000, by = 10)
  list(cols = cols - 1, lls = lapply(seq_len(nrow(l)), function(i) l[i, cols]))
}
out$yusuf1985$llplot_scaled <- ll(TRUE)
out$yusuf1985$llplot_unscaled <- ll(FALSE)
invisible(dev.off())

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string"),
           "tests/data/metafor_examples_more.json")
