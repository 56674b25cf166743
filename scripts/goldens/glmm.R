# Regenerate tests/data/goldens_glmm.json: metafor's rma.glmm() on metadat data sets.
#
# Run from the repository root:  Rscript scripts/goldens/glmm.R
# Needs R with metafor (3.8.1 was used), metadat, lme4, BiasedUrn (CM.EL), numDeriv, glmmTMB
# (Debian: r-cran-glmmtmb; the UM.RS references) and jsonlite. Cases with cor = TRUE (UM.RS,
# correlated random study and group effects) also store metafor's rho.
# Every fit runs at tight convergence, so the goldens are the optimum of each likelihood, not
# where an optimiser happened to stop: lme4's glmer with bobyqa in both stages (rhoend 1e-10)
# and CM.EL with optim's BFGS at reltol 1e-14, integrate() at rel.tol 1e-10
# and dFNCHypergeo at precision 1e-15. Each case stores the input cells, the options, metafor's
# result fields (null where metafor gives NA) and the printed summary.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)
tight <- list(
  glmerCtrl = list(optimizer = "bobyqa",
                   optCtrl = list(rhoend = 1e-10, maxfun = 1e6)),
  optimizer = "BFGS", optCtrl = list(reltol = 1e-14, maxit = 1e4),
  intCtrl = list(rel.tol = 1e-10, subdivisions = 1000L),
  dnchgprec = 1e-15
)
cases <- list()

fields <- function(res) {
  fs <- res$fit.stats
  list(
    k = res$k, k_eff = res$k.eff, p_eff = res$p.eff, parms = res$parms,
    beta = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
    ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
    tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), sigma2 = num(res$sigma2),
    I2 = num(res$I2), H2 = num(res$H2),
    QE_Wld = num(res$QE.Wld), QEp_Wld = num(res$QEp.Wld),
    QE_LRT = num(res$QE.LRT), QEp_LRT = num(res$QEp.LRT), QE_df = num(res$QE.df),
    QM = num(res$QM), QMp = num(res$QMp),
    logLik = fs["ll", "ML"], deviance = fs["dev", "ML"], AIC = fs["AIC", "ML"],
    BIC = fs["BIC", "ML"], AICc = fs["AICc", "ML"]
  )
}

add_case <- function(name, source, measure, cells, options = list()) {
  args <- c(list(measure = measure), cells, options, list(control = tight))
  res <- suppressWarnings(do.call(rma.glmm, args))
  printed <- paste(capture.output(print(res)), collapse = "\n")
  cases[[length(cases) + 1L]] <<- list(
    name = name, source = source, measure = measure, cells = cells, options = options,
    result = fields(res), printed = printed
  )
  # CM.EL (OR): metafor's SEs come from numDeriv's hessian() with control hessianCtrl =
  # list(r = 16) by default: Richardson steps down to d / 2^15, where the second differences
  # of the BiasedUrn densities are dominated by rounding (SEs up to 3e-3 off); the same fit
  # with numDeriv's own default r = 4 is stored too
  if (measure == "OR" && identical(options$model, "CM.EL")) {
    args$control <- c(tight, list(hessianCtrl = list(r = 4)))
    cases[[length(cases)]]$result_hessian_r4 <<- fields(suppressWarnings(do.call(rma.glmm, args)))
  }
  # cor = TRUE (UM.RS): the correlation of the random study and group effects, metafor's rho
  if (isTRUE(options$cor)) {
    cases[[length(cases)]]$result$rho <<- num(res$rho)
  }
}

bcg <- dat.bcg
bcg_cells <- list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg)
niel <- dat.nielweise2007
niel_cells <- list(ai = niel$ai, n1i = niel$n1i, ci = niel$ci, n2i = niel$n2i)
col <- dat.collins1985a
col_cells <- list(ai = col$b.xci, n1i = col$nci, ci = col$b.xti, n2i = col$nti)
n08 <- dat.nielweise2008
n08_cells <- list(x1i = n08$x1i, t1i = n08$t1i / 1000, x2i = n08$x2i, t2i = n08$t2i / 1000)

for (model in c("UM.FS", "CM.EL", "CM.AL", "UM.RS")) {
  for (method in c("EE", "ML")) {
    add_case(paste0("bcg_OR_", model, "_", method), "metadat::dat.bcg", "OR", bcg_cells,
             list(model = model, method = method))
  }
}
add_case("bcg_OR_CM.EL_ML_t_level90", "metadat::dat.bcg", "OR", bcg_cells,
         list(model = "CM.EL", method = "ML", test = "t", level = 90))
for (model in c("UM.FS", "CM.EL", "CM.AL")) {
  add_case(paste0("nielweise2007_OR_", model, "_ML"), "metadat::dat.nielweise2007", "OR",
           niel_cells, list(model = model, method = "ML"))
}
add_case("nielweise2007_OR_UM.FS_EE", "metadat::dat.nielweise2007", "OR", niel_cells,
         list(model = "UM.FS", method = "EE"))
add_case("collins1985a_OR_CM.EL_EE", "metadat::dat.collins1985a (b.xci/nci vs b.xti/nti)",
         "OR", col_cells, list(model = "CM.EL", method = "EE"))
add_case("collins1985a_OR_CM.EL_ML", "metadat::dat.collins1985a (b.xci/nci vs b.xti/nti)",
         "OR", col_cells, list(model = "CM.EL", method = "ML"))
for (model in c("UM.FS", "CM.EL")) {
  for (method in c("EE", "ML")) {
    add_case(paste0("nielweise2008_IRR_", model, "_", method),
             "metadat::dat.nielweise2008 (t1i, t2i / 1000)", "IRR", n08_cells,
             list(model = model, method = method))
  }
}
add_case("bcg_PLO_ML", "metadat::dat.bcg (tpos of tpos + tneg)", "PLO",
         list(xi = bcg$tpos, ni = bcg$tpos + bcg$tneg), list(method = "ML"))
add_case("bcg_PLO_EE", "metadat::dat.bcg (tpos of tpos + tneg)", "PLO",
         list(xi = bcg$tpos, ni = bcg$tpos + bcg$tneg), list(method = "EE"))
add_case("nielweise2007_PLO_ML", "metadat::dat.nielweise2007 (ci of n2i)", "PLO",
         list(xi = niel$ci, ni = niel$n2i), list(method = "ML"))
add_case("nielweise2007_PLO_ai_ML", "metadat::dat.nielweise2007 (ai of n1i)", "PLO",
         list(xi = niel$ai, ni = niel$n1i), list(method = "ML"))
add_case("pritz1997_PLO_ML", "metadat::dat.pritz1997", "PLO",
         list(xi = dat.pritz1997$xi, ni = dat.pritz1997$ni), list(method = "ML"))
# events at both extremes (0 of 10; 10 of 10 and 10 of 12): tau^2 = 12.2, where lme4's PIRLS
# modes of the extreme studies are inexact (its deviance function is up to 4e-8 off the AGQ at
# exact modes between nearby points) and metafor's fit stops 9e-6 away in beta: compared with
# the exact AGQ fit below (agq_exact); invented counts, not a published data set
sparse_plo <- list(xi = c(0, 5, 10, 10), ni = c(10, 10, 10, 12))
add_case("sparse_PLO_ML", "invented: xi = (0, 5, 10, 10) of ni = (10, 10, 10, 12)", "PLO",
         sparse_plo, list(method = "ML"))

# model = "UM.RS" on a sparse data set (zero cells) and for rates; metafor fits UM.RS with
# method = "ML" by the Laplace approximation (nAGQ = 1), with EE by 7-node AGQ.
for (method in c("EE", "ML")) {
  add_case(paste0("nielweise2007_OR_UM.RS_", method), "metadat::dat.nielweise2007", "OR",
           niel_cells, list(model = "UM.RS", method = method))
}
for (method in c("EE", "ML")) {
  add_case(paste0("nielweise2008_IRR_UM.RS_", method),
           "metadat::dat.nielweise2008 (t1i, t2i / 1000)", "IRR", n08_cells,
           list(model = "UM.RS", method = method))
}

# measure = "IRLN" (the Poisson-normal model for one group's events over person-time, log t as
# the offset): both arms of dat.nielweise2008 as Stijnen et al. (2010, Table VII) and
# test_analysis_example_stijnen2010.r, both arms of dat.hart1999 (patient-years), and a
# constructed data set with a study without events (escalc adds 1/2 to it for I^2; the
# saturated fit's rate of that study runs off towards 0 until glm's IRLS stops).
irln <- list(
  nielweise2008_x2i = list(source = "metadat::dat.nielweise2008 (x2i, t2i / 1000)",
                           cells = list(xi = n08$x2i, ti = n08$t2i / 1000)),
  nielweise2008_x1i = list(source = "metadat::dat.nielweise2008 (x1i, t1i / 1000)",
                           cells = list(xi = n08$x1i, ti = n08$t1i / 1000)),
  hart1999_x1i = list(source = "metadat::dat.hart1999 (x1i, t1i)",
                      cells = list(xi = dat.hart1999$x1i, ti = dat.hart1999$t1i)),
  hart1999_x2i = list(source = "metadat::dat.hart1999 (x2i, t2i)",
                      cells = list(xi = dat.hart1999$x2i, ti = dat.hart1999$t2i)),
  zero = list(source = "constructed (one study without events)",
              cells = list(xi = c(0, 3, 5, 2, 8, 4), ti = c(120, 200, 150, 90, 310, 140)))
)
for (set in names(irln)) {
  for (method in c("EE", "ML")) {
    add_case(paste0(set, "_IRLN_", method), irln[[set]]$source, "IRLN", irln[[set]]$cells,
             list(method = method))
  }
}
add_case("hart1999_x1i_IRLN_ML_t_level90", "metadat::dat.hart1999 (x1i, t1i)", "IRLN",
         irln$hart1999_x1i$cells, list(method = "ML", test = "t", level = 90))
add_case("nielweise2007_PLO_EE", "metadat::dat.nielweise2007 (ci of n2i)", "PLO",
         list(xi = niel$ci, ni = niel$n2i), list(method = "EE"))

# model = "UM.RS" with cor = TRUE: random study intercepts and random group effects
# correlated, (group | study) with group = +-1/2 (coding = 1/2), rho in the result; ML by the
# Laplace approximation, as above. With EE there is no group effect and cor is ignored.
add_case("bcg_OR_UM.RS_ML_cor", "metadat::dat.bcg", "OR", bcg_cells,
         list(model = "UM.RS", method = "ML", cor = TRUE))
add_case("bcg_OR_UM.RS_EE_cor", "metadat::dat.bcg", "OR", bcg_cells,
         list(model = "UM.RS", method = "EE", cor = TRUE))
add_case("nielweise2008_IRR_UM.RS_ML_cor", "metadat::dat.nielweise2008 (t1i, t2i / 1000)",
         "IRR", n08_cells, list(model = "UM.RS", method = "ML", cor = TRUE))
add_case("nielweise2007_OR_UM.RS_ML_cor", "metadat::dat.nielweise2007", "OR", niel_cells,
         list(model = "UM.RS", method = "ML", cor = TRUE))

# coding (metafor's 'coding' argument, used by UM.FS and UM.RS with ML in 3.8.1): the group
# variable of the random effect coded 1 for group 1 and 0 for group 2 (coding = 1) or 0 and 1
# (coding = 0), besides the default +-1/2; UM.RS with these codings also with cor = TRUE (which
# metafor's help recommends for them). The EE fit has no such random effect (coding ignored).
for (cd in c(1, 0)) {
  add_case(paste0("bcg_OR_UM.FS_ML_coding", cd), "metadat::dat.bcg", "OR", bcg_cells,
           list(model = "UM.FS", method = "ML", coding = cd))
  add_case(paste0("nielweise2007_OR_UM.FS_ML_coding", cd), "metadat::dat.nielweise2007", "OR",
           niel_cells, list(model = "UM.FS", method = "ML", coding = cd))
  add_case(paste0("nielweise2008_IRR_UM.FS_ML_coding", cd),
           "metadat::dat.nielweise2008 (t1i, t2i / 1000)", "IRR", n08_cells,
           list(model = "UM.FS", method = "ML", coding = cd))
  add_case(paste0("bcg_OR_UM.RS_ML_coding", cd), "metadat::dat.bcg", "OR", bcg_cells,
           list(model = "UM.RS", method = "ML", coding = cd))
  add_case(paste0("bcg_OR_UM.RS_ML_cor_coding", cd), "metadat::dat.bcg", "OR", bcg_cells,
           list(model = "UM.RS", method = "ML", cor = TRUE, coding = cd))
}
add_case("nielweise2008_IRR_UM.RS_ML_cor_coding1", "metadat::dat.nielweise2008 (t1i, t2i / 1000)",
         "IRR", n08_cells, list(model = "UM.RS", method = "ML", cor = TRUE, coding = 1))
add_case("bcg_OR_UM.RS_EE_coding1", "metadat::dat.bcg", "OR", bcg_cells,
         list(model = "UM.RS", method = "EE", coding = 1))

# The exact Laplace approximation of the UM.RS fits with nAGQ = 1. lme4's Laplace deviance
# takes log det(L^2) from the Cholesky factor built in the last PIRLS iteration, i.e. with the
# GLM weights of the step before the conditional modes (2e-5 above the value at the modes for
# dat.bcg, whatever tolPwrss), which moves the optimum by ~1e-4 and the finite-difference
# Hessian by ~0.5%. Here the same three models (metafor's formulas) are refitted on
# aic + ||u||^2 + log det(I + Lambda' Z' W Z Lambda) with W at lme4's own conditional modes
# (tolPwrss 1e-10), by nlminb at rel.tol 1e-14, and the covariance is 2 H^-1 from numDeriv's
# Hessian: the reference for rma_glmm's exact Laplace fit.
suppressPackageStartupMessages(library(lme4))
laplace_exact_fit <- function(form, fam, off) {
  ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e6),
                       tolPwrss = 1e-10)
  m <- suppressWarnings(glmer(form, offset = off, family = fam, nAGQ = 1, control = ctrl))
  dd <- glmer(form, offset = off, family = fam, nAGQ = 1, control = ctrl, devFunOnly = TRUE)
  e <- environment(dd)
  f <- function(p) {
    dd(p)
    lz <- e$pp$Lambdat %*% e$pp$Zt  # Lambda' Z' (Lambda lower triangular with cor = TRUE)
    w <- e$resp$sqrtXwt^2
    ld <- determinant(lz %*% Diagonal(x = w) %*% t(lz) + Diagonal(nrow(lz)))$modulus
    e$resp$aic() + e$pp$sqrL(1) + as.numeric(ld)
  }
  nth <- length(getME(m, "theta"))
  p0 <- c(getME(m, "theta"), fixef(m))
  opt <- nlminb(p0, f, lower = c(getME(m, "lower"), rep(-Inf, length(p0) - nth)),
                control = list(rel.tol = 1e-14, x.tol = 1e-12, eval.max = 1e4, iter.max = 1e4))
  h <- numDeriv::hessian(f, opt$par, method.args = list(d = 0.01, r = 6))
  list(theta = opt$par[seq_len(nth)], beta = opt$par[-seq_len(nth)],
       vcov = 2 * solve(h)[-seq_len(nth), -seq_len(nth), drop = FALSE], ll = -opt$objective / 2)
}
# group: metafor's coding of the group variable of the random effect (1/2: +-1/2; 1: group1;
# 0: group2)
group_of <- function(k, coding) {
  if (coding == 1 / 2) rep(c(1 / 2, -1 / 2), times = k) else
    if (coding == 1) rep(c(1, 0), times = k) else rep(c(0, 1), times = k)
}
laplace_exact <- function(measure, cells, coding = 1 / 2) {
  if (measure == "OR") {
    y <- cbind(c(rbind(cells$ai, cells$ci)), c(rbind(cells$bi, cells$di)))
    fam <- binomial
    off <- NULL
  } else {
    y <- c(rbind(cells$x1i, cells$x2i))
    fam <- poisson
    off <- log(c(rbind(cells$t1i, cells$t2i)))
  }
  k <- length(cells[[1]])
  group1 <- rep(c(1, 0), times = k)
  group <- group_of(k, coding)
  study <- factor(rep(seq_len(k), each = 2L))
  const <- rep(1, 2 * k)
  X.QE <- model.matrix(~ -1 + group1 + const + study:group1)
  X.QE <- X.QE[, !is.na(coef(glm(y ~ -1 + X.QE, offset = off, family = fam))), drop = FALSE]
  environment(laplace_exact_fit) <- environment()
  fe <- laplace_exact_fit(y ~ -1 + group1 + const + (1 | study), fam, off)
  qe <- laplace_exact_fit(y ~ -1 + X.QE + (1 | study), fam, off)
  ml <- laplace_exact_fit(y ~ -1 + group1 + const + (group || study), fam, off)
  b2 <- qe$beta[-(1:2)]
  list(beta = ml$beta[[1]], se = sqrt(ml$vcov[1, 1]), sigma2 = ml$theta[[1]]^2,
       tau2 = ml$theta[[2]]^2, logLik = ml$ll, deviance = -2 * (ml$ll - qe$ll),
       QE_LRT = -2 * (fe$ll - qe$ll),
       QE_Wld = c(t(b2) %*% solve(qe$vcov[-(1:2), -(1:2)]) %*% b2),
       sigma2_EE = fe$theta[[1]]^2, beta_EE = fe$beta[[1]], se_EE = sqrt(fe$vcov[1, 1]))
}
# lme4's stage-2 deviance function of bcg_OR_UM.RS_ML at metafor's optimum, with the linear
# predictor lp0 every call starts PIRLS from and the log determinant it used, so that a test
# can rebuild lme4's value: PIRLS from lp0, log det from the weights of the last iteration's
# start.
lme4_devfun <- function(cells) {
  k <- length(cells$ai)
  y <- cbind(c(rbind(cells$ai, cells$ci)), c(rbind(cells$bi, cells$di)))
  group1 <- rep(c(1, 0), times = k)
  group12 <- rep(c(1 / 2, -1 / 2), times = k)
  study <- factor(rep(seq_len(k), each = 2L))
  const <- rep(1, 2 * k)
  ctrl <- do.call(glmerControl, tight$glmerCtrl)
  m <- glmer(y ~ -1 + group1 + const + (group12 || study), family = binomial, nAGQ = 1,
             control = ctrl)
  dd <- glmer(y ~ -1 + group1 + const + (group12 || study), family = binomial, nAGQ = 1,
              control = ctrl, devFunOnly = TRUE)
  p <- c(getME(m, "theta"), fixef(m))
  dev <- dd(p)
  list(par = unname(p), lp0 = environment(dd)$lp0, deviance = dev,
       ldL2 = environment(dd)$pp$ldL2(), tolPwrss = environment(dd)$tolPwrss)
}

laplace <- list(
  bcg_OR_UM.RS_ML = laplace_exact("OR", bcg_cells),
  nielweise2008_IRR_UM.RS_ML = laplace_exact("IRR", n08_cells)
)
# cor = TRUE: the ML model (group12 | study), theta = (l11, l21, l22) of the lower-triangular
# Lambda, sigma^2 = l11^2, tau^2 = l21^2 + l22^2, rho = l11 l21 / (sigma tau)
laplace_exact_cor <- function(measure, cells, coding = 1 / 2) {
  if (measure == "OR") {
    y <- cbind(c(rbind(cells$ai, cells$ci)), c(rbind(cells$bi, cells$di)))
    fam <- binomial
    off <- NULL
  } else {
    y <- c(rbind(cells$x1i, cells$x2i))
    fam <- poisson
    off <- log(c(rbind(cells$t1i, cells$t2i)))
  }
  k <- length(cells[[1]])
  group1 <- rep(c(1, 0), times = k)
  group <- group_of(k, coding)
  study <- factor(rep(seq_len(k), each = 2L))
  const <- rep(1, 2 * k)
  environment(laplace_exact_fit) <- environment()
  ml <- laplace_exact_fit(y ~ -1 + group1 + const + (group | study), fam, off)
  th <- ml$theta
  list(beta = ml$beta[[1]], se = sqrt(ml$vcov[1, 1]), sigma2 = th[[1]]^2,
       tau2 = th[[2]]^2 + th[[3]]^2,
       rho = th[[1]] * th[[2]] / sqrt(th[[1]]^2 * (th[[2]]^2 + th[[3]]^2)), logLik = ml$ll)
}
laplace$bcg_OR_UM.RS_ML_cor <- laplace_exact_cor("OR", bcg_cells)
laplace$nielweise2008_IRR_UM.RS_ML_cor <- laplace_exact_cor("IRR", n08_cells)
for (cd in c(1, 0)) {
  laplace[[paste0("bcg_OR_UM.RS_ML_coding", cd)]] <- laplace_exact("OR", bcg_cells, cd)
  laplace[[paste0("bcg_OR_UM.RS_ML_cor_coding", cd)]] <- laplace_exact_cor("OR", bcg_cells, cd)
}
laplace$nielweise2008_IRR_UM.RS_ML_cor_coding1 <- laplace_exact_cor("IRR", n08_cells, 1)

# A second, independent exact Laplace fit: metafor with control package = "glmmTMB" (TMB's
# Laplace approximation, with the Hessian at the conditional modes), at glmmTMB's default
# tolerances (its optimum agrees with the refit above to ~2e-6).
tmb <- function(measure, cells, coding = 1 / 2) {
  args <- c(list(measure = measure), cells,
            list(model = "UM.RS", method = "ML", coding = coding,
                 control = list(package = "glmmTMB")))
  res <- suppressWarnings(do.call(rma.glmm, args))
  list(beta = num(res$beta), se = num(res$se), tau2 = num(res$tau2), sigma2 = num(res$sigma2),
       logLik = res$fit.stats["ll", "ML"], QE_LRT = num(res$QE.LRT), QE_Wld = num(res$QE.Wld))
}
glmmtmb <- list(
  bcg_OR_UM.RS_ML = tmb("OR", bcg_cells),
  nielweise2008_IRR_UM.RS_ML = tmb("IRR", n08_cells),
  nielweise2007_OR_UM.RS_ML = tmb("OR", niel_cells)
)
tmb_cor <- function(measure, cells, coding = 1 / 2) {
  args <- c(list(measure = measure), cells,
            list(model = "UM.RS", method = "ML", cor = TRUE, coding = coding,
                 control = list(package = "glmmTMB")))
  res <- suppressWarnings(do.call(rma.glmm, args))
  list(beta = num(res$beta), se = num(res$se), tau2 = num(res$tau2), sigma2 = num(res$sigma2),
       rho = num(res$rho), logLik = res$fit.stats["ll", "ML"], QE_LRT = num(res$QE.LRT),
       QE_Wld = num(res$QE.Wld))
}
glmmtmb$bcg_OR_UM.RS_ML_cor <- tmb_cor("OR", bcg_cells)
glmmtmb$nielweise2008_IRR_UM.RS_ML_cor <- tmb_cor("IRR", n08_cells)
glmmtmb$nielweise2007_OR_UM.RS_ML_cor <- tmb_cor("OR", niel_cells)
for (cd in c(1, 0)) {
  glmmtmb[[paste0("bcg_OR_UM.RS_ML_coding", cd)]] <- tmb("OR", bcg_cells, cd)
  glmmtmb[[paste0("bcg_OR_UM.RS_ML_cor_coding", cd)]] <- tmb_cor("OR", bcg_cells, cd)
}
glmmtmb$nielweise2008_IRR_UM.RS_ML_cor_coding1 <- tmb_cor("IRR", n08_cells, 1)

# The IRLN ML fits at exact conditional modes: lme4 stops PIRLS at tolPwrss = 1e-7, which
# leaves its AGQ deviance up to 1e-7 off the value at the modes and its Hessian-based SE up to
# ~1e-6 off. Refitted here with tolPwrss = 1e-12, by nlminb at rel.tol 1e-14 on lme4's own
# deviance function, the SE from numDeriv's Hessian (2 H^-1): the reference for the SE.
agq_exact_fit <- function(cells) {
  xi <- cells$xi
  ti <- cells$ti
  study <- factor(seq_along(xi))
  ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e6),
                       tolPwrss = 1e-12)
  m <- glmer(xi ~ 1 + (1 | study), offset = log(ti), family = poisson, nAGQ = 7, control = ctrl)
  dd <- glmer(xi ~ 1 + (1 | study), offset = log(ti), family = poisson, nAGQ = 7, control = ctrl,
              devFunOnly = TRUE)
  opt <- nlminb(c(getME(m, "theta"), fixef(m)), dd, lower = c(0, -Inf),
                control = list(rel.tol = 1e-14, x.tol = 1e-12))
  h <- numDeriv::hessian(dd, opt$par, method.args = list(d = 0.01, r = 6))
  list(beta = opt$par[[2]], se = sqrt(2 * solve(h)[2, 2]), tau2 = opt$par[[1]]^2)
}
agq_exact <- list()
for (set in c("nielweise2008_x2i", "nielweise2008_x1i", "hart1999_x1i", "hart1999_x2i")) {
  agq_exact[[paste0(set, "_IRLN_ML")]] <- agq_exact_fit(irln[[set]]$cells)
}

# The binomial ML fits whose likelihood is flat along tau (dat.bcg: UM.FS in its three codings
# and PLO). There lme4's deviance, even at tolPwrss 1e-11, is 1e-11 noisy, which nlminb turns
# into "false convergence" and beta ~1e-5 off. So the 7-node AGQ deviance is written out here:
# per study, the conditional mode u of log p(y | u) - u^2 / 2 by Newton to 1e-15, the
# curvature s^-2 = 1 + theta^2 sum(g^2 n mu (1 - mu)) there, and
# log L_i = log s + log sum_q w_q exp(l(u + s z_q) - (u + s z_q)^2 / 2 + z_q^2 / 2)
# with lme4's GHrule(7) (z_q, w_q for the standard normal). It equals lme4's deviance function
# up to a constant (checked below at three points, to 1e-9, at tolPwrss 1e-11). Minimised by
# nlminb, then Newton steps on numDeriv's Richardson gradient and Hessian; SE from 2 H^-1 of
# the deviance; logLik as metafor's for a glmer fit, the binomial log likelihood at the
# conditional modes.
agq_binomial_fit <- function(form, long, x, n, g, off_of, const_tol = 1e-9) {
  gh <- lme4::GHrule(7)
  at_modes <- function(theta, off) {
    u <- rep(0, nrow(x))
    for (it in 1:100) {
      mu <- plogis(off + theta * g * u)
      step <- (rowSums((x - n * mu) * theta * g) - u) /
        (-rowSums(n * mu * (1 - mu) * (theta * g)^2) - 1)
      u <- u - pmax(pmin(step, 1), -1)  # (Newton on a concave function, steps at most 1)
      if (max(abs(step)) < 1e-15 * (1 + max(abs(u)))) break
    }
    mu <- plogis(off + theta * g * u)
    list(u = u, s = 1 / sqrt(rowSums(n * mu * (1 - mu) * (theta * g)^2) + 1),
         ll = sum(dbinom(x, n, mu, log = TRUE)))
  }
  dev <- function(p) {
    off <- off_of(p)
    m <- at_modes(p[1], off)
    terms <- sapply(seq_len(nrow(gh)), function(q) {
      v <- m$u + m$s * gh[q, "z"]
      log(gh[q, "w"]) + rowSums(dbinom(x, n, plogis(off + p[1] * g * v), log = TRUE)) -
        v^2 / 2 + gh[q, "z"]^2 / 2
    })
    top <- apply(terms, 1, max)
    -2 * sum(log(m$s) + top + log(rowSums(exp(terms - top))))
  }
  ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e6),
                       tolPwrss = 1e-11)
  fit <- glmer(form, data = long, family = binomial, nAGQ = 7, control = ctrl)
  dd <- glmer(form, data = long, family = binomial, nAGQ = 7, control = ctrl, devFunOnly = TRUE)
  p <- nlminb(c(getME(fit, "theta"), fixef(fit)), dev, lower = c(0, rep(-Inf, length(fixef(fit)))),
              control = list(rel.tol = 1e-15, eval.max = 1e4, iter.max = 1e4))$par
  for (it in 1:3) {
    h <- numDeriv::hessian(dev, p, method.args = list(d = 0.01, r = 6))
    p <- p - solve(h, numDeriv::grad(dev, p, method.args = list(d = 1e-3, r = 6)))
  }
  const <- sapply(c(0, 0.01, -0.02), function(e) dd(p + e) - dev(p + e))
  stopifnot(diff(range(const)) < const_tol)
  list(beta = p[[2]], se = sqrt(2 * solve(h)[2, 2]), tau2 = p[[1]]^2,
       logLik = at_modes(p[1], off_of(p))$ll)
}
bcg_x <- cbind(bcg$tpos, bcg$cpos)
bcg_n <- cbind(bcg$tpos + bcg$tneg, bcg$cpos + bcg$cneg)
kb <- nrow(bcg)
codings <- list(c(1 / 2, -1 / 2), c(1, 0), c(0, 1))  # metafor's coding 1/2, 1, 0
for (j in 1:3) {
  cd <- c("", "_coding1", "_coding0")[j]
  g <- matrix(codings[[j]], kb, 2, byrow = TRUE)
  long <- data.frame(xi = c(t(bcg_x)), mi = c(t(bcg_n - bcg_x)), X.fit = rep(c(1, 0), kb),
                     group = c(t(g)), study = factor(rep(seq_len(kb), each = 2)))
  agq_exact[[paste0("bcg_OR_UM.FS_ML", cd)]] <- agq_binomial_fit(
    cbind(xi, mi) ~ -1 + X.fit + study + (group - 1 | study), long, bcg_x, bcg_n, g,
    function(p) cbind(p[-(1:2)] + p[2], p[-(1:2)]))
}
agq_exact$bcg_PLO_ML <- agq_binomial_fit(
  cbind(xi, mi) ~ 1 + (1 | study),
  data.frame(xi = bcg$tpos, mi = bcg$tneg, study = factor(seq_len(kb))),
  cbind(bcg$tpos), cbind(bcg$tpos + bcg$tneg), matrix(1, kb, 1),
  function(p) matrix(p[2], kb, 1))

# (lme4's own deviance function is up to 4e-8 off the AGQ at exact modes here: const_tol 1e-7)
ks <- length(sparse_plo$xi)
agq_exact$sparse_PLO_ML <- agq_binomial_fit(
  cbind(xi, mi) ~ 1 + (1 | study),
  data.frame(xi = sparse_plo$xi, mi = sparse_plo$ni - sparse_plo$xi, study = factor(seq_len(ks))),
  cbind(sparse_plo$xi), cbind(sparse_plo$ni), matrix(1, ks, 1),
  function(p) matrix(p[2], ks, 1), const_tol = 1e-7)

out <- list(
  generated_by = "scripts/goldens/glmm.R",
  metafor_version = as.character(packageVersion("metafor")),
  lme4_version = as.character(packageVersion("lme4")),
  biasedurn_version = as.character(packageVersion("BiasedUrn")),
  control = tight,
  cases = cases,
  laplace_exact = laplace,
  glmmtmb_version = as.character(packageVersion("glmmTMB")),
  glmmtmb = glmmtmb,
  lme4_devfun = list(bcg_OR_UM.RS_ML = lme4_devfun(bcg_cells)),
  agq_exact = agq_exact
)
dir.create("tests/data", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "string", pretty = TRUE),
           "tests/data/goldens_glmm.json")
cat("wrote tests/data/goldens_glmm.json with", length(cases), "cases\n")
