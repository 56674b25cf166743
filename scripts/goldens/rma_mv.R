# Regenerates tests/data/goldens_rma_mv.json: reference values for metareview.models.multilevel
# (rma_mv), .vcalc (vcalc) and .robust (robust).
#
# Run from the repository root:
#     Rscript scripts/goldens/rma_mv.R
# Needs R >= 4.2 with metafor 3.8, metadat, clubSandwich and jsonlite
# (Debian: r-cran-metafor r-cran-metadat r-cran-clubsandwich r-cran-jsonlite).
#
# Every rma.mv model is fitted with optim(method = "BFGS") at reltol = 1e-14, far tighter than
# metafor's defaults (nlminb stops with "false convergence" this tight), so the variance
# components are at the optimum to the precision a numerical gradient allows. Non-finite numbers are written as the
# strings "NA", "NaN", "Inf", "-Inf". Printed output is captured with plain ASCII quotes.

suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})
options(useFancyQuotes = FALSE, width = 200)

ctrl <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14, maxit = 10000)
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

# ---------------------------------------------------------------- datasets
dk <- dat.konstantopoulos2011
add_dataset("konstantopoulos2011", dk[, c("district", "school", "study", "year", "yi", "vi")],
            "dat.konstantopoulos2011")

db <- dat.berkey1998
add_dataset("berkey1998", db[, c("trial", "author", "year", "ni", "outcome", "yi", "vi")],
            "dat.berkey1998")
Vb <- bldiag(lapply(split(db[, c("v1i", "v2i")], db$trial), as.matrix))
add_matrix("berkey1998_V", Vb, "bldiag(lapply(split(dat.berkey1998[,c('v1i','v2i')], trial), as.matrix))")

di <- dat.ishak2007
dl <- reshape(di, direction = "long", idvar = "study", v.names = c("yi", "vi"),
              varying = list(c(2, 4, 6, 8), c(3, 5, 7, 9)))
dl <- dl[order(dl$study, dl$time), ]
rownames(dl) <- 1:nrow(dl)
miss <- is.na(dl$yi)
dl <- dl[!miss, ]
Vi <- lapply(split(with(di, cbind(v1i, v2i, v3i, v4i)), di$study), diag)
Vi <- lapply(Vi, function(v) sqrt(v) %*% toeplitz(ARMAacf(ar = .97, lag.max = 3)) %*% sqrt(v))
Vi <- bldiag(Vi)[!miss, !miss]
add_dataset("ishak2007", dl[, c("study", "time", "yi", "vi")],
            "dat.ishak2007 in long format (missing occasions removed), as metafor's test file")
add_matrix("ishak2007_V", Vi, "AR(1) sampling covariances with rho = 0.97 (Ishak et al. 2007)")

da <- dat.assink2016
add_dataset("assink2016", da[, c("study", "esid", "id", "yi", "vi", "year", "deltype")],
            "dat.assink2016")

dg <- data.frame(study = c(1, 1, 2, 3, 3, 3), trt = c(1, 2, 1, 1, 2, 3),
                 ai = c(40, 40, 10, 150, 150, 150), n1i = c(1000, 1000, 200, 2000, 2000, 2000),
                 ci = c(100, 150, 15, 40, 80, 50), n2i = c(4000, 4000, 400, 1000, 1000, 1000))
dg$pci <- with(dg, ai / n1i)
dg <- escalc(measure = "RD", ai = ai, ci = ci, n1i = n1i, n2i = n2i, data = dg)
calc.v <- function(x) {
  v <- matrix(x$pci[1] * (1 - x$pci[1]) / x$n1i[1], nrow = nrow(x), ncol = nrow(x))
  diag(v) <- x$vi
  v
}
Vg <- bldiag(lapply(split(dg, dg$study), calc.v))
add_dataset("gleser2009_RD", as.data.frame(dg[, c("study", "trt", "yi", "vi")]),
            "Gleser & Olkin (2009) multiple-treatment studies, risk differences")
add_matrix("gleser2009_RD_V", Vg, "Gleser & Olkin (2009) eq. 19.5 covariances")

dv <- to.long(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.colditz1994)
dv <- escalc(measure = "PLO", xi = out1, mi = out2, data = dv)
levels(dv$group) <- c("CON", "EXP")
dv <- as.data.frame(dv[, c("trial", "group", "ablat", "yi", "vi")])
dv$group <- as.character(dv$group)
add_dataset("colditz1994_long", dv,
            "to.long(measure='OR', dat.colditz1994) then escalc('PLO'), as van Houwelingen et al. (2002)")

dc <- escalc(measure = "OR", ai = pre.xti, n1i = pre.nti, ci = pre.xci, n2i = pre.nci,
             data = dat.collins1985b[, 1:7])
dc$id <- seq_len(nrow(dc))
add_dataset("collins1985b", as.data.frame(dc[, c("id", "yi", "vi")]),
            "dat.collins1985b; escalc(measure='OR', ai=pre.xti, n1i=pre.nti, ci=pre.xci, n2i=pre.nci)")

# ---------------------------------------------------------------- rma.mv fits
fits <- list()
Vs <- list(berkey1998_V = Vb, ishak2007_V = Vi, gleser2009_RD_V = Vg)
frames <- list(konstantopoulos2011 = dk, berkey1998 = db, ishak2007 = dl, assink2016 = da,
               gleser2009_RD = dg, colditz1994_long = dv, collins1985b = dc)

# ranef(): the BLUPs of each random term (one data frame per term, metafor's names)
ranef_list <- function(res) {
  re <- ranef(res)
  if (!length(re)) return(NULL)
  lapply(re, function(d) list(names = rownames(d), intrcpt = vnum(d$intrcpt), se = vnum(d$se),
                              pi_lb = vnum(d$pi.lb), pi_ub = vnum(d$pi.ub)))
}

fit_case <- function(id, dataset, V, random = NULL, mods = NULL, struct = "CS",
                     method = "REML", test = "z", confint = FALSE, extra = list()) {
  dat <- frames[[dataset]]
  Vmat <- if (V %in% names(Vs)) Vs[[V]] else dat[[V]]
  args <- c(list(yi = dat$yi, V = Vmat, data = dat, struct = struct, method = method,
                 test = test, control = ctrl), extra)
  if (!is.null(random)) {
    args$random <- if (length(random) == 1) as.formula(random[[1]]) else lapply(random, as.formula)
  }
  if (!is.null(mods)) args$mods <- as.formula(mods)
  warned <- character(0)
  res <- withCallingHandlers(do.call(rma.mv, args), warning = function(w) {
    warned <<- c(warned, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  out <- list(
    id = id, dataset = dataset, V = V, random = if (is.null(random)) NULL else as.list(random),
    mods = mods, struct = struct, method = method, test = test,
    extra = extra,
    coef_names = rownames(res$beta),
    beta = vnum(res$beta), se = vnum(res$se), zval = vnum(res$zval), pval = vnum(res$pval),
    ci_lb = vnum(res$ci.lb), ci_ub = vnum(res$ci.ub), vb = unname(as.matrix(res$vb)),
    sigma2 = vnum(res$sigma2), tau2 = vnum(res$tau2), rho = vnum(res$rho),
    gamma2 = vnum(res$gamma2), phi = vnum(res$phi),
    s_nlevels = vnum(res$s.nlevels),
    QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp, QMdf = vnum(res$QMdf),
    ddf = vnum(res$ddf),
    logLik = as.numeric(logLik(res)), deviance = as.numeric(deviance(res)),
    AIC = AIC(res), BIC = BIC(res), AICc = fitstats(res)[5, 1], parms = res$parms,
    k = res$k, p = res$p, warnings = I(warned),
    print = paste(capture.output(print(res)), collapse = "\n")
  )
  if (confint) {
    ci <- confint(res, control = list(tol = 1e-10))
    ci <- if (inherits(ci, "list.confint.rma")) do.call(rbind, lapply(ci[sapply(ci, is.list)], function(x) x$random)) else ci$random
    out$confint <- list(names = rownames(ci), estimate = vnum(ci[, 1]), ci_lb = vnum(ci[, 2]),
                        ci_ub = vnum(ci[, 3]))
  }
  # the same model with its variance components fixed at these estimates: no optimiser involved,
  # so beta, se and logLik here test the likelihood and the GLS algebra exactly
  fx <- args
  if (isTRUE(res$withS)) fx$sigma2 <- res$sigma2
  if (isTRUE(res$withG)) {
    fx$tau2 <- res$tau2
    if (struct %in% c("CS", "HCS", "UN", "AR", "HAR", "CAR")) fx$rho <- res$rho
  }
  if (isTRUE(res$withH)) {
    fx$gamma2 <- res$gamma2
    fx$phi <- res$phi
  }
  if (isTRUE(res$withS) || isTRUE(res$withG)) {
    rf <- do.call(rma.mv, fx)
    out$fixed <- list(sigma2 = vnum(fx$sigma2), tau2 = vnum(fx$tau2), rho = vnum(fx$rho),
                      beta = vnum(rf$beta), se = vnum(rf$se), vb = unname(as.matrix(rf$vb)),
                      QM = rf$QM, logLik = as.numeric(logLik(rf)))
    if (isTRUE(res$withH)) {
      out$fixed$gamma2 <- vnum(fx$gamma2)
      out$fixed$phi <- vnum(fx$phi)
    }
    out$fixed$ranef <- ranef_list(rf)
  }
  pr <- predict(res)
  out$predict <- list(pred = vnum(pr$pred), se = vnum(pr$se), ci_lb = vnum(pr$ci.lb),
                      ci_ub = vnum(pr$ci.ub), pi_lb = vnum(pr$pi.lb), pi_ub = vnum(pr$pi.ub))
  out$ranef <- ranef_list(res)
  fits[[id]] <<- out
  invisible(res)
}

k_reml <- fit_case("konst_reml", "konstantopoulos2011", "vi", "~ 1 | district/school",
                   confint = TRUE)
fit_case("konst_ml", "konstantopoulos2011", "vi", "~ 1 | district/school", method = "ML",
         confint = TRUE)
k_mods <- fit_case("konst_reml_year", "konstantopoulos2011", "vi", "~ 1 | district/school",
                   mods = "~ I(year - 1990)")
fit_case("konst_ml_year", "konstantopoulos2011", "vi", "~ 1 | district/school",
         mods = "~ I(year - 1990)", method = "ML")
fit_case("konst_reml_t", "konstantopoulos2011", "vi", "~ 1 | district/school", test = "t")
fit_case("konst_ml_year_t", "konstantopoulos2011", "vi", "~ 1 | district/school",
         mods = "~ year", method = "ML", test = "t")
fit_case("konst_year_contain", "konstantopoulos2011", "vi", "~ 1 | district/school",
         mods = "~ I(year - 1990)", test = "t", extra = list(dfs = "contain"))
fit_case("berkey_un_contain", "berkey1998", "berkey1998_V", "~ outcome | trial",
         mods = "~ 0 + outcome + outcome:I(year - 1983)", struct = "UN", test = "t",
         extra = list(dfs = "contain"))
fit_case("konst_study", "konstantopoulos2011", "vi", "~ 1 | study")
fit_case("konst_mv_cs", "konstantopoulos2011", "vi", "~ factor(study) | district")
b_fits <- list()
for (s in c("UN", "CS", "HCS", "DIAG", "ID")) {
  b_fits[[s]] <- fit_case(paste0("berkey_", tolower(s), "_reml"), "berkey1998", "berkey1998_V",
                          "~ outcome | trial", mods = "~ 0 + outcome", struct = s,
                          confint = (s == "UN"))
}
fit_case("berkey_un_ml", "berkey1998", "berkey1998_V", "~ outcome | trial",
         mods = "~ 0 + outcome", struct = "UN", method = "ML")
fit_case("berkey_un_ml_year", "berkey1998", "berkey1998_V", "~ outcome | trial",
         mods = "~ 0 + outcome + outcome:I(year - 1983)", struct = "UN", method = "ML")
fit_case("berkey_un_ml_star", "berkey1998", "berkey1998_V", "~ outcome | trial",
         mods = "~ 0 + outcome*I(year - 1983)", struct = "UN", method = "ML")
fit_case("berkey_un_ml_rho0", "berkey1998", "berkey1998_V", "~ outcome | trial",
         mods = "~ 0 + outcome", struct = "UN", method = "ML", extra = list(rho = 0))
fit_case("ishak_ar", "ishak2007", "ishak2007_V", "~ time | study", mods = "~ 0 + factor(time)",
         struct = "AR")
fit_case("ishak_hcs", "ishak2007", "ishak2007_V", "~ factor(time) | study",
         mods = "~ 0 + factor(time)", struct = "HCS")
fit_case("ishak_diag_vi", "ishak2007", "vi", "~ factor(time) | study",
         mods = "~ 0 + factor(time)", struct = "DIAG")
fit_case("ishak_id_vi", "ishak2007", "vi", "~ factor(time) | study",
         mods = "~ 0 + factor(time)", struct = "ID")
fit_case("ishak_study_vi", "ishak2007", "vi", "~ 1 | study", mods = "~ 0 + factor(time)")
fit_case("ishak_har", "ishak2007", "ishak2007_V", "~ time | study", mods = "~ 0 + factor(time)",
         struct = "HAR")
# struct="CAR" on the measurement times in months (3, 6, 12, 24), unequally spaced
dm <- dl
dm$month <- c(3, 6, 12, 24)[dm$time]
frames$ishak2007_months <- dm
add_dataset("ishak2007_months", dm[, c("study", "time", "month", "yi", "vi")],
            "dat.ishak2007 as ishak2007, with month = c(3, 6, 12, 24)[time]")
fit_case("ishak_car", "ishak2007_months", "ishak2007_V", "~ month | study",
         mods = "~ 0 + factor(time)", struct = "CAR", confint = TRUE)
fit_case("colditz_un_ml", "colditz1994_long", "vi", "~ group | trial", mods = "~ 0 + group",
         struct = "UN", method = "ML")
fit_case("collins_id_ml", "collins1985b", "vi", "~ 1 | id", method = "ML", confint = TRUE)
fit_case("collins_id_reml", "collins1985b", "vi", "~ 1 | id", confint = TRUE)
fit_case("konst_diag_district", "konstantopoulos2011", "vi",
         c("~ 1 | district", "~ factor(district) | study"), struct = "DIAG")
fit_case("gleser_rd", "gleser2009_RD", "gleser2009_RD_V", NULL, mods = "~ 0 + factor(trt)")
fit_case("konst_two_terms", "konstantopoulos2011", "vi",
         c("~ 1 | district", "~ 1 | study"), mods = "~ I(year - 1990)", method = "ML")
fit_case("berkey_un_t", "berkey1998", "berkey1998_V", "~ outcome | trial",
         mods = "~ 0 + outcome", struct = "UN", test = "t")
fit_case("konst_district_t_contain", "konstantopoulos2011", "vi", "~ 1 | district/school",
         test = "t", extra = list(dfs = "contain"))
# two districts: the intercept is constant within district, so "contain" gives it 2 - 2 = 0 df,
# which metafor raises to 1 (school varies within district: 8 - 2 = 6 df)
d2 <- dk[dk$district %in% c(11, 12), ]
frames$konst_two_districts <- d2
add_dataset("konst_two_districts", d2[, c("district", "school", "study", "year", "yi", "vi")],
            "dat.konstantopoulos2011, districts 11 and 12")
fit_case("konst_two_districts_contain", "konst_two_districts", "vi", "~ 1 | district/school",
         mods = "~ school", test = "t", extra = list(dfs = "contain"))
# terms with a single level: metafor fixes the sigma2 of a single-level factor to 0 (one
# district: it cannot be told from the intercept) and the rho of a CS/HCS term whose inner factor
# has one level (the likelihood does not depend on it), each with a warning
d1 <- dk[dk$district == 11, ]
frames$konst_one_district <- d1
add_dataset("konst_one_district", d1[, c("district", "school", "study", "year", "yi", "vi")],
            "dat.konstantopoulos2011, district 11")
fit_case("konst_one_district", "konst_one_district", "vi", "~ 1 | district/school")
dk1 <- dk
dk1$one <- "a"
frames$konst_one_inner <- dk1
add_dataset("konst_one_inner", dk1[, c("district", "school", "study", "year", "yi", "vi", "one")],
            "dat.konstantopoulos2011 with a constant inner factor one = \"a\"")
fit_case("konst_one_inner_cs", "konst_one_inner", "vi", "~ one | district", struct = "CS")
fit_case("konst_one_inner_hcs", "konst_one_inner", "vi", "~ one | district", struct = "HCS",
         mods = "~ I(year - 1990)")
# missing values: metafor's default na.action = "na.omit" leaves out the rows with a missing
# yi, vi or moderator ("Rows with NAs omitted from model fitting."; a missing random-effects
# variable is an error); the test fits them with na_action="omit"
dna <- dk
dna$yi[3] <- NA
dna$vi[10] <- NA
dna$year[20] <- NA
frames$konst_na <- dna
add_dataset("konst_na", dna[, c("district", "school", "study", "year", "yi", "vi")],
            "dat.konstantopoulos2011 with yi[3], vi[10] and year[20] set to NA")
fit_case("konst_na_omit", "konst_na", "vi", "~ 1 | district/school", mods = "~ I(year - 1990)")

# ---------------------------------------------------------------- law2016 (network meta-analysis)
# Law et al. (2016) examples 1 and 2, typed in from metafor's
# tests/testthat/test_analysis_example_law2016.r (lines 13-51 and 90-125); the design matrix is
# contrmat(dat, grp1="trt", grp2="ref", append=FALSE, last=NA)[,-1] (A the reference), used as
# mods = ~ 0 + B + C + ... (the same model as mods=X, intercept=FALSE)
eg1 <- read.table(header = TRUE, as.is = TRUE, text = "
study y ref trt contr design
1 -0.16561092 C D CD CD
2 -0.13597406 C D CD CD
3 -0.08012604 C E CE CE
4 -0.14746890 C F CF CF
5 0.09316853 E F EF EF
6 -0.15859403 E F EF EF
7 -0.22314355 E F EF EF
8 -0.06744128 F G FG FG
9 -0.11888254 C H CH CH
10 -0.06899287 C H CH CH
11 0.26917860 B C BC BC
12 -0.33160986 A B AB AB
13 -0.26236426 A B AB AB
14 -0.39319502 F G FG FG
15 -0.11557703 A B AB AB
16 0.00000000 E F EF EF
17 -0.40987456 A E AE AE
")
s1 <- c(0.0294183340466069, 0.147112449467866, 0.0780588660166125, 0.140361934247383,
        0.0479709251030665, 0.0506583523716436, 0.235695187165775, 2.04499494438827,
        0.17968120987923, 0.735714285714286, 0.184889643463497, 0.0294022652280727,
        0.232478632478632, 0.857874134296899, 0.0219285638496459, 0.168131868131868,
        0.0826973577700322)
eg2 <- read.table(header = TRUE, as.is = TRUE, text = "
study y ref trt contr design
1 -3.61988658 A B AB AB
2 0.00000000 B C BC BC
3 0.19342045 B C BC BC
4 2.79320801 B C BC BC
5 0.24512246 B C BC BC
6 0.03748309 B C BC BC
7 0.86020127 B D BD BD
8 0.14310084 B D BD BD
9 0.07598591 C D CD CD
10 -0.99039870 C D CD CD
11 -1.74085310 A B AB ABD
11 0.34830670 A D AD ABD
12 0.40546510 B C BC BCD
12 1.91692260 B D BD BCD
13 -0.32850410 B C BC BCD
13 1.07329450 B D BD BCD
")
S2 <- diag(c(0.9672619, 0.4, 0.24987648, 0.61904762, 0.27958937, 0.23845689, 0.04321419,
             0.47692308, 0.18416468, 0.61978022, 0.12650164, 0.1583906, 0.389881, 0.5151261,
             0.4361111, 0.5380342))
S2[11, 12] <- S2[12, 11] <- 0.07397504
S2[13, 14] <- S2[14, 13] <- 0.2857143
S2[15, 16] <- S2[16, 15] <- 0.2111111
for (nm in c("law2016_eg1", "law2016_eg2")) {
  eg <- if (nm == "law2016_eg1") eg1 else eg2
  X <- contrmat(eg, grp1 = "trt", grp2 = "ref", append = FALSE, last = NA)[, -1]
  eg <- cbind(eg, as.data.frame(X))
  eg$yi <- eg$y
  if (nm == "law2016_eg1") eg$vi <- s1
  frames[[nm]] <- eg
  add_dataset(nm, eg, paste("Law et al. (2016) example", substr(nm, 12, 12),
                            "(metafor's test_analysis_example_law2016.r) with contrmat() columns"))
  mods_nm <- paste("~ 0 +", paste(colnames(X), collapse = " + "))
  Vname <- if (nm == "law2016_eg1") "vi" else "law2016_eg2_V"
  if (nm == "law2016_eg2") {
    add_matrix("law2016_eg2_V", S2, "S2 of test_analysis_example_law2016.r lines 110-125")
    Vs$law2016_eg2_V <- S2
  }
  fit_case(paste0(nm, "_consistency"), nm, Vname, "~ contr | study", mods = mods_nm,
           confint = TRUE, extra = list(rho = 1/2))
  fit_case(paste0(nm, "_inconsistency"), nm, Vname, c("~ contr | study", "~ contr | design"),
           mods = mods_nm, confint = TRUE, extra = list(rho = 1/2, phi = 1/2))
}

# ---------------------------------------------------------------- vcalc
Va <- vcalc(vi, cluster = study, obs = esid, data = da, rho = 0.6)
add_matrix("assink2016_vcalc_rho06", Va, "vcalc(vi, cluster=study, obs=esid, data=dat.assink2016, rho=0.6)")
Vs$assink2016_vcalc_rho06 <- Va
a_fit <- fit_case("assink_vcalc", "assink2016", "assink2016_vcalc_rho06", "~ 1 | study/esid",
                  mods = "~ deltype")
Va3 <- vcalc(vi, cluster = study, obs = esid, data = da, rho = 0.3)
add_matrix("assink2016_vcalc_rho03", Va3, "vcalc(vi, cluster=study, obs=esid, data=dat.assink2016, rho=0.3)")
# vcalc's other arguments. Shared control groups (invented multi-arm trials: arms A, B, C each
# against one placebo arm P of the same trial), groups measured over time, types and obs.
dsc <- data.frame(study = c(1, 1, 1, 2, 2, 3), trt = c("A", "B", "C", "A", "B", "A"),
                  ctrl = "P", n1 = c(30, 25, 40, 50, 45, 20), n2 = c(35, 35, 35, 60, 60, 22),
                  time = c(1, 1, 1, 2, 3, 1), vi = c(0.05, 0.06, 0.045, 0.03, 0.035, 0.09))
add_dataset("shared_control", dsc, "invented: 3 trials, arms A, B, C against placebo arm P")
add_matrix("vcalc_shared_control", vcalc(vi, cluster = study, grp1 = trt, grp2 = ctrl,
                                         w1 = n1, w2 = n2, data = dsc),
           "vcalc(vi, cluster=study, grp1=trt, grp2=ctrl, w1=n1, w2=n2)")
add_matrix("vcalc_shared_control_time", vcalc(vi, cluster = study, grp1 = trt, grp2 = ctrl,
                                              w1 = n1, w2 = n2, time1 = time, phi = 0.8,
                                              data = dsc),
           "vcalc(vi, cluster=study, grp1=trt, grp2=ctrl, w1=n1, w2=n2, time1=time, phi=0.8)")
add_matrix("vcalc_ishak_time", vcalc(vi, cluster = study, time1 = time, phi = 0.9, data = dl),
           "vcalc(vi, cluster=study, time1=time, phi=0.9, data=ishak2007 long)")
add_matrix("vcalc_assink_type", vcalc(vi, cluster = study, type = deltype, data = da, rho = 0.4),
           "vcalc(vi, cluster=study, type=deltype, rho=0.4, data=dat.assink2016)")
add_matrix("vcalc_assink_type_obs", vcalc(vi, cluster = study, type = deltype, obs = esid,
                                          data = da, rho = c(0.6, 0.3)),
           "vcalc(vi, cluster=study, type=deltype, obs=esid, rho=c(0.6, 0.3), data=dat.assink2016)")

# ---------------------------------------------------------------- robust
robust_case <- function(id, fit, cluster, clubsandwich, fit_id) {
  r <- robust(fit, cluster = cluster, clubSandwich = clubsandwich)
  list(id = id, fit = fit_id, clubsandwich = clubsandwich,
       beta = vnum(r$beta), se = vnum(r$se), zval = vnum(r$zval), pval = vnum(r$pval),
       ci_lb = vnum(r$ci.lb), ci_ub = vnum(r$ci.ub), ddf = vnum(r$ddf),
       vb = unname(as.matrix(r$vb)), QM = vnum(r$QM), QMp = vnum(r$QMp), QMdf = vnum(r$QMdf),
       print = paste(capture.output(print(r)), collapse = "\n"))
}
robust_cases <- list()
rc <- function(...) { x <- robust_case(...); robust_cases[[x$id]] <<- x }
rc("konst_reml_cr1", k_reml, dk$district, FALSE, "konst_reml")
rc("konst_reml_cr2", k_reml, dk$district, TRUE, "konst_reml")
rc("konst_reml_year_cr1", k_mods, dk$district, FALSE, "konst_reml_year")
rc("konst_reml_year_cr2", k_mods, dk$district, TRUE, "konst_reml_year")
rc("assink_vcalc_cr1", a_fit, da$study, FALSE, "assink_vcalc")
rc("assink_vcalc_cr2", a_fit, da$study, TRUE, "assink_vcalc")
# '~ inner | outer' structures (multivariate berkey1998, clustered by trial)
rc("berkey_cs_reml_cr1", b_fits$CS, db$trial, FALSE, "berkey_cs_reml")
rc("berkey_cs_reml_cr2", b_fits$CS, db$trial, TRUE, "berkey_cs_reml")
rc("berkey_hcs_reml_cr1", b_fits$HCS, db$trial, FALSE, "berkey_hcs_reml")
rc("berkey_hcs_reml_cr2", b_fits$HCS, db$trial, TRUE, "berkey_hcs_reml")

# rma.uni fits (rma and rma_reg) with cluster = district
uni <- list()
u1 <- rma(yi, vi, data = dk, control = list(threshold = 1e-12, tol = 1e-12, maxiter = 5000))
u2 <- rma(yi, vi, mods = ~ I(year - 1990), data = dk,
          control = list(threshold = 1e-12, tol = 1e-12, maxiter = 5000))
u3 <- rma(yi, vi, data = dk, method = "DL")
uni$konst_rma_reml <- list(method = "REML", mods = NULL)
uni$konst_reg_reml <- list(method = "REML", mods = "I(year - 1990)")
uni$konst_rma_dl <- list(method = "DL", mods = NULL)
rc("konst_rma_reml_cr1", u1, dk$district, FALSE, "konst_rma_reml")
rc("konst_rma_reml_cr2", u1, dk$district, TRUE, "konst_rma_reml")
rc("konst_reg_reml_cr1", u2, dk$district, FALSE, "konst_reg_reml")
rc("konst_reg_reml_cr2", u2, dk$district, TRUE, "konst_reg_reml")
rc("konst_rma_dl_cr1", u3, dk$district, FALSE, "konst_rma_dl")
r0 <- robust(u1, cluster = dk$district, adjust = FALSE)
robust_cases$konst_rma_reml_cr0 <- list(id = "konst_rma_reml_cr0", fit = "konst_rma_reml",
  clubsandwich = FALSE, adjust = FALSE, beta = vnum(r0$beta), se = vnum(r0$se),
  zval = vnum(r0$zval), pval = vnum(r0$pval), ci_lb = vnum(r0$ci.lb), ci_ub = vnum(r0$ci.ub),
  ddf = vnum(r0$ddf), vb = unname(as.matrix(r0$vb)))

# ---------------------------------------------------------------- cvvc: Var of the components
# res$vvc: the inverse of numDeriv's Hessian of -ll (metafor's default hessianCtrl r = 8) in
# the variances and correlations (cvvc = TRUE), the variances and covariances ("varcov") or
# log variances and atanh/logit correlations ("transf"); the varcov case as metafor's
# vanhouwelingen2002 test, with control nearpd = TRUE. The Hessian moves by up to 1e-5 between
# the points where nlminb (metafor's default) and optim/BFGS at reltol 1e-14 stop, and either
# may stop nearer the optimum (colditz1994: nlminb, by 4e-11 in logLik); on dat.berkey1998 UN
# REML both stop 6.7e-11 below the maximum in logLik (rho 4e-6 short, vvc 6.5e-5 off) where
# bobyqa at rhoend 1e-12 reaches it to 1e-15, so each case keeps the fit with the highest logLik
# of the three
cvvc_cases <- list()
cvvc_case <- function(id, dataset, V, random, mods = NULL, struct = "CS", method = "REML",
                      cvvc = TRUE, extra = list()) {
  dat <- frames[[dataset]]
  Vmat <- if (V %in% names(Vs)) Vs[[V]] else dat[[V]]
  ctl <- if (identical(cvvc, "varcov")) list(nearpd = TRUE) else list()
  args <- c(list(yi = dat$yi, V = Vmat, data = dat, struct = struct, method = method,
                 cvvc = cvvc, control = ctl), extra)
  args$random <- if (length(random) == 1) as.formula(random[[1]]) else lapply(random, as.formula)
  if (!is.null(mods)) args$mods <- as.formula(mods)
  res <- do.call(rma.mv, args)
  # the Hessian moves with the point it is taken at: keep the fit with the highest logLik of
  # nlminb (metafor's default), optim/BFGS at reltol 1e-14 and bobyqa at rhoend 1e-12
  args$control <- c(ctrl, ctl)
  res2 <- do.call(rma.mv, args)
  optimizer <- "nlminb"
  if (as.numeric(logLik(res2)) > as.numeric(logLik(res))) {
    res <- res2
    optimizer <- "optim/BFGS reltol 1e-14"
  }
  args$control <- c(list(optimizer = "bobyqa", rhoend = 1e-12, maxfun = 1e5), ctl)
  res3 <- try(do.call(rma.mv, args), silent = TRUE)
  if (!inherits(res3, "try-error") && as.numeric(logLik(res3)) > as.numeric(logLik(res))) {
    res <- res3
    optimizer <- "bobyqa rhoend 1e-12"
  }
  cvvc_cases[[id]] <<- list(
    id = id, dataset = dataset, V = V, random = as.list(random), mods = mods, struct = struct,
    method = method, cvvc = cvvc, extra = extra, nearpd = identical(cvvc, "varcov"),
    optimizer = optimizer, logLik = as.numeric(logLik(res)),
    sigma2 = vnum(res$sigma2), tau2 = vnum(res$tau2), rho = vnum(res$rho),
    G = if (is.null(res$G)) NULL else unname(as.matrix(res$G)), beta = vnum(res$beta),
    g_levels_comb_k = if (is.null(res$g.levels.comb.k)) NULL else unname(as.matrix(res$g.levels.comb.k)),
    vvc_names = rownames(res$vvc), vvc = unname(as.matrix(res$vvc)))
  invisible(res)
}
cvvc_case("colditz_un_ml_varcor", "colditz1994_long", "vi", "~ group | trial",
          mods = "~ 0 + group", struct = "UN", method = "ML")
cvvc_case("colditz_un_ml_varcov", "colditz1994_long", "vi", "~ group | trial",
          mods = "~ 0 + group", struct = "UN", method = "ML", cvvc = "varcov")
cvvc_case("konst_reml_varcor", "konstantopoulos2011", "vi", "~ 1 | district/school")
cvvc_case("konst_reml_transf", "konstantopoulos2011", "vi", "~ 1 | district/school",
          cvvc = "transf")
cvvc_case("konst_ml_year_varcor", "konstantopoulos2011", "vi", "~ 1 | district/school",
          mods = "~ I(year - 1990)", method = "ML")
cvvc_case("berkey_un_reml_varcor", "berkey1998", "berkey1998_V", "~ outcome | trial",
          mods = "~ 0 + outcome", struct = "UN")
cvvc_case("berkey_un_reml_varcov", "berkey1998", "berkey1998_V", "~ outcome | trial",
          mods = "~ 0 + outcome", struct = "UN", cvvc = "varcov")
cvvc_case("berkey_un_ml_rho0_varcor", "berkey1998", "berkey1998_V", "~ outcome | trial",
          mods = "~ 0 + outcome", struct = "UN", method = "ML", extra = list(rho = 0))
cvvc_case("ishak_ar_varcor", "ishak2007", "ishak2007_V", "~ time | study",
          mods = "~ 0 + factor(time)", struct = "AR")
cvvc_case("ishak_ar_transf", "ishak2007", "ishak2007_V", "~ time | study",
          mods = "~ 0 + factor(time)", struct = "AR", cvvc = "transf")
cvvc_case("ishak_hcs_varcor", "ishak2007", "ishak2007_V", "~ factor(time) | study",
          mods = "~ 0 + factor(time)", struct = "HCS")
cvvc_case("konst_mv_cs_varcor", "konstantopoulos2011", "vi", "~ factor(study) | district")

# predict() with tau2.levels: the prediction interval of a structure with one tau^2 per inner
# level (UN, HCS) at new moderator values takes the tau^2 of the level asked for
pred_levels <- list()
for (s in c("UN", "HCS")) {
  fit_s <- rma.mv(yi, Vs$berkey1998_V, mods = ~ 0 + outcome, random = ~ outcome | trial,
                  struct = s, data = db, control = ctrl)
  pr <- predict(fit_s, newmods = rbind(c(1, 0), c(0, 1), c(1, 0)),
                tau2.levels = c("AL", "PD", "PD"))
  pred_levels[[paste0("berkey_", tolower(s), "_reml")]] <- list(
    newmods = list(c(1, 0), c(0, 1), c(1, 0)), tau2_levels = c("AL", "PD", "PD"),
    pred = vnum(pr$pred), se = vnum(pr$se), pi_lb = vnum(pr$pi.lb), pi_ub = vnum(pr$pi.ub))
}

# anova(full, reduced): the likelihood-ratio test of nested rma.mv fits (moderators by ML; a
# variance component by REML)
lrt_of <- function(full, reduced) {
  a <- anova(full, reduced)
  list(LRT = a$LRT, pval = a$pval, parms = c(a$parms.f, a$parms.r),
       AIC = c(a$fit.stats.f[["AIC"]], a$fit.stats.r[["AIC"]]), QE = c(a$QE.f, a$QE.r))
}
ml_f <- rma.mv(yi, vi, random = ~ 1 | district/school, mods = ~ I(year - 1990), data = dk,
               method = "ML", control = ctrl)
ml_r <- rma.mv(yi, vi, random = ~ 1 | district/school, data = dk, method = "ML", control = ctrl)
reml_r <- rma.mv(yi, vi, random = ~ 1 | district, data = dk, control = ctrl)
anova_lrt <- list(
  konst_year_ml = c(list(full = "~ 1 | district/school", reduced = "~ 1 | district/school",
                         mods = "~ I(year - 1990)", method = "ML"), lrt_of(ml_f, ml_r)),
  konst_school_reml = c(list(full = "~ 1 | district/school", reduced = "~ 1 | district",
                             mods = NULL, method = "REML"), lrt_of(k_reml, reml_r)))

out <- list(
  meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
              clubSandwich = as.character(packageVersion("clubSandwich")),
              control = ctrl),
  datasets = datasets, matrices = matrices, fits = fits, rma_uni = uni, robust = robust_cases,
  cvvc = cvvc_cases, predict_levels = pred_levels, anova_lrt = anova_lrt
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "string",
                  pretty = FALSE), "tests/data/goldens_rma_mv.json")
cat("wrote tests/data/goldens_rma_mv.json\n")
