# Regenerates tests/data/goldens_profile_mv.json: metafor's profile.rma.mv (the numbers its
# profile plots are drawn from) for metareview.models.profile_mv.
#
# Run from the repository root:
#     Rscript scripts/goldens/profile_mv.R
# Needs R >= 4.2 with metafor 3.8, metadat and jsonlite. The fits use optim/BFGS at
# reltol 1e-14 (as scripts/goldens/rma_mv.R), which profile() passes on to every refit.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
ctrl <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14, maxit = 10000)
vnum <- function(x) if (is.null(x)) numeric(0) else as.numeric(x)

dk <- dat.konstantopoulos2011
di <- dat.ishak2007
dl <- reshape(di, direction = "long", idvar = "study", v.names = c("yi", "vi"),
              varying = list(c(2, 4, 6, 8), c(3, 5, 7, 9)))
dl <- dl[order(dl$study, dl$time), ]
miss <- is.na(dl$yi)
dl <- dl[!miss, ]

fits <- list(
  konst_reml = rma.mv(yi, vi, random = ~ 1 | district/school, data = dk, control = ctrl),
  konst_ml_year = rma.mv(yi, vi, random = ~ 1 | district/school, mods = ~ I(year - 1990),
                         data = dk, method = "ML", control = ctrl),
  konst_mv_cs = rma.mv(yi, vi, random = ~ factor(study) | district, data = dk, control = ctrl),
  ishak_ar_vi = rma.mv(yi, vi, mods = ~ 0 + factor(time), random = ~ time | study,
                       struct = "AR", data = dl, control = ctrl)
)
calls <- list(
  konst_reml = "rma.mv(yi, vi, random = ~ 1 | district/school, data = dat.konstantopoulos2011)",
  konst_ml_year = "rma.mv(yi, vi, random = ~ 1 | district/school, mods = ~ I(year - 1990), method = 'ML')",
  konst_mv_cs = "rma.mv(yi, vi, random = ~ factor(study) | district)",
  ishak_ar_vi = "rma.mv(yi, vi, mods = ~ 0 + factor(time), random = ~ time | study, struct = 'AR'), dat.ishak2007 long"
)
out <- list()
for (id in names(fits)) {
  res <- fits[[id]]
  pr <- profile(res, steps = 7, progbar = FALSE, plot = FALSE)
  if (pr$comps == 1) pr <- list(pr)
  comps <- lapply(pr[seq_len(length(pr) - (if (is.null(pr$comps)) 0 else 1))], function(p) {
    comp <- names(p)[1]
    list(component = comp, vc = vnum(p[[1]]), ll = vnum(p$ll), beta = lapply(p$beta, vnum),
         ci_lb = lapply(p$ci.lb, vnum), ci_ub = lapply(p$ci.ub, vnum), maxll = vnum(p$maxll),
         vc_hat = vnum(p$vc), ylim = vnum(p$ylim))
  })
  out[[id]] <- list(call = calls[[id]], logLik = as.numeric(logLik(res)),
                    sigma2 = vnum(res$sigma2), tau2 = vnum(res$tau2), rho = vnum(res$rho),
                    profiles = unname(comps))
}
meta <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")), steps = 7)
writeLines(toJSON(list(meta = meta, fits = out), auto_unbox = TRUE, digits = NA, null = "null",
                  na = "string", pretty = FALSE), "tests/data/goldens_profile_mv.json")
cat("wrote tests/data/goldens_profile_mv.json\n")
