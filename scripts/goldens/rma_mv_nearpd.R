# Regenerates tests/data/goldens_rma_mv_nearpd.json: reference values for
# rma_mv(..., control={"nearpd": True}) (metareview.models.multilevel), from metafor 3.8.1's
# rma.mv(..., control = list(nearpd = TRUE)) on sampling covariance matrices V that are not
# positive definite, and on a struct = "UN" G made non positive definite by fixed rho values.
#
# Run from the repository root:
#     Rscript scripts/goldens/rma_mv_nearpd.R
# Needs R >= 4.2 with metafor 3.8, metadat, minqa, clubSandwich and jsonlite.
#
# With nearpd = TRUE metafor's objective passes M (and a UN G) through Matrix::nearPD at each
# evaluation; that is not smooth where an eigenvalue crosses nearPD's cut, and metafor's
# default nlminb stops there with "false convergence". Each model is fitted with bobyqa
# (rhoend = 1e-12, derivative free), with optim's Nelder-Mead (reltol = 1e-16) and with optim's
# BFGS (reltol = 1e-14); the fit with the largest log-likelihood is kept (spread = the largest
# relative difference of beta, sigma2, tau2, rho among the fits within 1e-9 of that
# log-likelihood: how tight the reference is; logLik_other: the others' log-likelihoods).
# Without nearpd, metafor's error (or its fit, when it has one) is recorded as well.

suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})
options(useFancyQuotes = FALSE, width = 200)

ctrls <- list(
  bobyqa = list(optimizer = "bobyqa", rhoend = 1e-12, maxfun = 1e5),
  nelder_mead = list(optimizer = "optim", optmethod = "Nelder-Mead", reltol = 1e-16,
                     maxit = 1e5),
  bfgs = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14, maxit = 1e4))
vnum <- function(x) if (is.null(x)) numeric(0) else as.numeric(x)

datasets <- list()
matrices <- list()
add_dataset <- function(name, dat, source) {
  datasets[[name]] <<- list(
    source = source,
    columns = lapply(as.list(dat), function(x) if (is.numeric(x)) as.numeric(x) else as.character(x))
  )
}
add_matrix <- function(name, V, source) {
  V <- as.matrix(V)
  nz <- which(V != 0, arr.ind = TRUE)
  matrices[[name]] <<- list(source = source, n = nrow(V), i = nz[, 1] - 1, j = nz[, 2] - 1,
                            x = V[nz])
}

# ---------------------------------------------------------------- data
# dat.berkey1998 with the within-trial covariance of trials 1, 3 and 5 set to 1.5 times the
# product of the standard deviations (a correlation of 1.5: each of these blocks has a
# negative eigenvalue)
db <- dat.berkey1998
Vl <- lapply(split(db[, c("v1i", "v2i")], db$trial), as.matrix)
for (i in c(1, 3, 5)) Vl[[i]][1, 2] <- Vl[[i]][2, 1] <- 1.5 * sqrt(Vl[[i]][1, 1] * Vl[[i]][2, 2])
Vb <- bldiag(Vl)
add_dataset("berkey1998", db[, c("trial", "outcome", "yi")], "dat.berkey1998")
add_matrix("berkey1998_V_npd", Vb,
           "dat.berkey1998 v1i/v2i blocks, covariance of trials 1, 3, 5 = 1.5 sqrt(v1 v2)")

# dat.konstantopoulos2011 with vcalc(rho = -0.6) within district: below -1/(m - 1) for the
# districts of 3 or more schools, so V is not positive definite
dk <- dat.konstantopoulos2011
Vk <- vcalc(vi, cluster = district, obs = school, rho = -0.6, data = dk)
add_dataset("konstantopoulos2011", dk[, c("district", "school", "yi", "vi")],
            "dat.konstantopoulos2011")
add_matrix("konstantopoulos2011_V_npd", Vk,
           "vcalc(vi, cluster = district, obs = school, rho = -0.6)")

# dat.ishak2007 in long format (missing occasions removed), as metafor's test file
di <- dat.ishak2007
dl <- reshape(di, direction = "long", idvar = "study", v.names = c("yi", "vi"),
              varying = list(c(2, 4, 6, 8), c(3, 5, 7, 9)))
dl <- dl[order(dl$study, dl$time), ]
dl <- dl[!is.na(dl$yi), ]
rownames(dl) <- NULL
# a second grouping for a model with two '~ inner | outer' terms: consecutive studies in
# fours ("region" is a construction for the test, not a variable of the data set)
dl$region <- ceiling(as.integer(factor(dl$study)) / 4)
add_dataset("ishak2007", dl[, c("study", "time", "yi", "vi", "region")],
            "dat.ishak2007 in long format (missing occasions removed); region = studies in fours")

frames <- list(berkey1998 = db, konstantopoulos2011 = dk, ishak2007 = dl)
Vs <- list(berkey1998_V_npd = Vb, konstantopoulos2011_V_npd = Vk)

# ---------------------------------------------------------------- fits
fits <- list()
one_fit <- function(args, ctrl) {
  args$control <- c(ctrl, list(nearpd = TRUE))
  suppressWarnings(do.call(rma.mv, args))
}
summ <- function(res) {
  list(coef_names = I(rownames(res$beta)), beta = vnum(res$beta), se = vnum(res$se),
       zval = vnum(res$zval), pval = vnum(res$pval), ci_lb = vnum(res$ci.lb),
       ci_ub = vnum(res$ci.ub), vb = unname(as.matrix(res$vb)),
       sigma2 = vnum(res$sigma2), tau2 = vnum(res$tau2), rho = vnum(res$rho),
       G = if (is.null(res$G)) NULL else unname(as.matrix(res$G)),
       gamma2 = vnum(res$gamma2), phi = vnum(res$phi),
       H = if (is.null(res$H)) NULL else unname(as.matrix(res$H)),
       QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp,
       logLik = as.numeric(logLik(res)), deviance = as.numeric(deviance(res)),
       AIC = AIC(res), BIC = BIC(res), AICc = fitstats(res)[5, 1], parms = res$parms,
       M_min_eigen = min(eigen(res$M, symmetric = TRUE, only.values = TRUE)$values))
}
fit_case <- function(id, dataset, V, random, mods, struct = "CS", method = "REML",
                     extra = list()) {
  dat <- frames[[dataset]]
  Vmat <- if (V %in% names(Vs)) Vs[[V]] else dat[[V]]
  args <- c(list(yi = dat$yi, V = Vmat, data = dat, struct = struct, method = method,
                 random = if (length(random) == 1) as.formula(random) else
                   lapply(random, as.formula), mods = as.formula(mods)), extra)
  res <- lapply(ctrls, function(ctrl) try(one_fit(args, ctrl), silent = TRUE))
  res <- res[!sapply(res, inherits, "try-error")]  # e.g. a degenerate Nelder-Mead simplex
  lls <- sapply(res, function(r) as.numeric(logLik(r)))
  best <- names(res)[which.max(lls)]
  comp <- function(r) c(r$beta, r$sigma2, r$tau2, r$rho, r$gamma2)
  a <- comp(res[[best]])
  # the spread over the fits within 1e-9 of the best log-likelihood
  near <- names(res)[lls >= max(lls) - 1e-9 * max(1, abs(max(lls)))]
  spread <- max(sapply(near, function(n) max(abs(comp(res[[n]]) - a) / pmax(abs(a), 1e-12))))
  # without nearpd (metafor's default optimiser): its error, or its fit
  plain <- args
  p0 <- try(suppressWarnings(do.call(rma.mv, plain)), silent = TRUE)
  # where the default fits, the best (highest logLik) of it and the three fits above without
  # nearpd (ishak_un_un_fixed_phi_reml: nlminb stops 3.2e-8 below the maximum, gamma2[2] at 0)
  if (!inherits(p0, "try-error")) {
    for (ctrl in ctrls) {
      p1 <- try(suppressWarnings(do.call(rma.mv, c(plain, list(control = ctrl)))), silent = TRUE)
      if (!inherits(p1, "try-error") && as.numeric(logLik(p1)) > as.numeric(logLik(p0))) p0 <- p1
    }
  }
  without <- if (inherits(p0, "try-error")) {
    list(error = trimws(sub("^Error ?: ?", "", as.character(p0))))
  } else summ(p0)
  warn <- tryCatch({ one_fit(args, ctrls$bobyqa); "" },
                   warning = function(w) conditionMessage(w))
  fits[[id]] <<- c(list(id = id, dataset = dataset, V = V, random = random, mods = mods,
                        struct = struct, method = method, extra = extra, optimizer = best,
                        spread = spread, logLik_other = as.list(lls[names(lls) != best]), agree = near,
                        first_warning = warn),
                   summ(res[[best]]), list(without_nearpd = without))
  cat(id, best, "spread", spread, "logLik", lls, "\n")
  invisible(res[[best]])
}

best_fits <- list()
best_fits$berkey_un_reml <- fit_case("berkey_un_reml", "berkey1998", "berkey1998_V_npd", "~ outcome | trial",
         "~ 0 + outcome", struct = "UN")
best_fits$konst_reml <- fit_case("konst_reml", "konstantopoulos2011", "konstantopoulos2011_V_npd",
         "~ 1 | district/school", "~ 1")
fit_case("konst_ml", "konstantopoulos2011", "konstantopoulos2011_V_npd",
         "~ 1 | district/school", "~ 1", method = "ML")
# struct = "UN" with fixed correlations whose matrix is not positive definite (eigenvalues
# 2.05, 1.5, 1, -0.55): .con.E replaces G by nearPD(G) (and reports its diag and cov2cor)
rho_npd <- c(0.9, 0.9, 0, -0.5, 0, 0)
best_fits$ishak_un_fixed_rho_reml <- fit_case("ishak_un_fixed_rho_reml", "ishak2007", "vi", "~ time | study",
         "~ 0 + factor(time)", struct = "UN", extra = list(rho = rho_npd))
fit_case("ishak_un_fixed_rho_ml", "ishak2007", "vi", "~ time | study",
         "~ 0 + factor(time)", struct = "UN", method = "ML", extra = list(rho = rho_npd))

# two '~ inner | outer' terms, the second (H: gamma2, phi) struct = "UN" with the same fixed,
# not positive definite correlations: .con.E replaces H by nearPD(H)
fit_case("ishak_un_un_fixed_phi_reml", "ishak2007", "vi", c("~ time | region", "~ time | study"),
         "~ 0 + factor(time)", struct = c("UN", "UN"), extra = list(rho = 0.5, phi = rho_npd))

# every component fixed where M = V + Z G Z' is not positive definite: no optimiser involved,
# so beta, se and logLik test the likelihood of nearPD(M) itself (eigenvalues cut)
fit_case("berkey_un_fixed_npd", "berkey1998", "berkey1998_V_npd", "~ outcome | trial",
         "~ 0 + outcome", struct = "UN", extra = list(tau2 = c(0.001, 0.002), rho = 0.2))
fit_case("konst_ml_fixed_npd", "konstantopoulos2011", "konstantopoulos2011_V_npd",
         "~ 1 | district/school", "~ 1", method = "ML", extra = list(sigma2 = c(0.001, 0.002)))

# cvvc with a nearPD'd G: metafor differentiates its likelihood at the reported (nearPD'd)
# tau2 taken as inputs (Nelder-Mead's fit, the best of the three above)
rv <- suppressWarnings(rma.mv(yi, vi, mods = ~ 0 + factor(time), random = ~ time | study,
                              struct = "UN", rho = rho_npd, data = dl, cvvc = TRUE,
                              control = c(ctrls$nelder_mead, list(nearpd = TRUE))))
cvvc_case <- list(tau2 = vnum(rv$tau2), logLik = as.numeric(logLik(rv)),
                  vvc_names = rownames(rv$vvc), vvc = unname(as.matrix(rv$vvc)))

# several local maxima: with ML the nearPD'd likelihood of the berkey1998 model has a maximum
# where nearPD cuts nothing (BFGS stops there) and higher ones inside the region where it cuts
# eigenvalues of M (Nelder-Mead and bobyqa stop at two different ones); each optimiser's fit,
# and that of metafor's default (nlminb, which stops at the first)
multimodal <- list()
args <- list(yi = db$yi, V = Vb, data = db, struct = "UN", method = "ML",
             random = ~ outcome | trial, mods = ~ 0 + outcome)
for (nm in names(ctrls)) {
  r <- one_fit(args, ctrls[[nm]])
  multimodal[[nm]] <- list(beta = vnum(r$beta), se = vnum(r$se), tau2 = vnum(r$tau2),
                           rho = vnum(r$rho), logLik = as.numeric(logLik(r)),
                           M_min_eigen = min(eigen(r$M, symmetric = TRUE,
                                                   only.values = TRUE)$values),
                           M_max_eigen = max(eigen(r$M, symmetric = TRUE,
                                                   only.values = TRUE)$values))
}
nl <- try(suppressWarnings(rma.mv(yi, Vb, data = db, struct = "UN", method = "ML",
                                  random = ~ outcome | trial, mods = ~ 0 + outcome,
                                  control = list(nearpd = TRUE))), silent = TRUE)
multimodal$nlminb_default <- if (inherits(nl, "try-error")) {
  list(error = trimws(sub("^Error ?: ?", "", as.character(nl))))
} else list(beta = vnum(nl$beta), se = vnum(nl$se), tau2 = vnum(nl$tau2), rho = vnum(nl$rho),
            logLik = as.numeric(logLik(nl)))

# robust() of the nearPD'd fits (the best fit of each, above): CR1 (metafor's default) and
# CR2 with clubSandwich; the cluster is the outer grouping of the model
robust_cases <- list()
clusters <- list(berkey_un_reml = db$trial, konst_reml = dk$district,
                 ishak_un_fixed_rho_reml = dl$study)
for (id in names(best_fits)) for (cs in c(FALSE, TRUE)) {
  r <- try(robust(best_fits[[id]], cluster = clusters[[id]], clubSandwich = cs), silent = TRUE)
  rid <- paste0(id, if (cs) "_cr2" else "_cr1")
  robust_cases[[rid]] <- if (inherits(r, "try-error")) {
    list(fit = id, clubsandwich = cs, error = trimws(sub("^Error ?: ?", "", as.character(r))))
  } else list(fit = id, clubsandwich = cs, beta = vnum(r$beta), se = vnum(r$se),
              zval = vnum(r$zval), pval = vnum(r$pval), ci_lb = vnum(r$ci.lb),
              ci_ub = vnum(r$ci.ub), ddf = vnum(r$ddf), vb = unname(as.matrix(r$vb)),
              QM = vnum(r$QM), QMp = vnum(r$QMp), QMdf = vnum(r$QMdf))
}

# profile() of nearPD'd fits: every refit on the grid with nearpd = TRUE; with the best fit's
# Nelder-Mead some refits fail (NA), so the fit and its profile are bobyqa's (rhoend 1e-12);
# where both have a value they agree to 1e-9
profile_cases <- list()
for (id in c("konst_reml", "konst_ml")) {
  fc <- fits[[id]]
  dat <- frames[[fc$dataset]]
  rb <- suppressWarnings(rma.mv(dat$yi, Vs[[fc$V]], data = dat, random = as.formula(fc$random),
                                method = fc$method,
                                control = c(ctrls$bobyqa, list(nearpd = TRUE))))
  pr <- suppressWarnings(profile(rb, steps = 7, plot = FALSE, progbar = FALSE))
  pr <- if (!is.null(pr$ll)) list(pr) else unname(Filter(is.list, pr))  # ("comps" dropped)
  profile_cases[[id]] <- list(fit = id, logLik = as.numeric(logLik(rb)),
                              sigma2 = vnum(rb$sigma2),
                              profiles = lapply(pr, function(p) list(vc = vnum(p[[1]]),
                                                                     ll = vnum(p$ll))))
}

out <- list(
  meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
              minqa = as.character(packageVersion("minqa")), control = ctrls),
  datasets = datasets, matrices = matrices, fits = fits,
  berkey_un_ml_multimodal = multimodal, ishak_un_fixed_rho_reml_cvvc = cvvc_case,
  robust = robust_cases, profile = profile_cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "string",
                  pretty = FALSE), "tests/data/goldens_rma_mv_nearpd.json")
cat("wrote tests/data/goldens_rma_mv_nearpd.json\n")
