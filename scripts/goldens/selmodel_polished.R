# Regenerate tests/data/goldens_selmodel_polished.json: metafor's selmodel() likelihood
# maximised by Newton steps, for the fits where metafor's own optimiser stops short on a flat
# likelihood (tests/models/test_selmodel.py and test_selmodel_more.py compare metafor's
# stopped fits there at 2e-6 to 1e-4; these goldens at 1e-6).
#
# Run from the repository root:  Rscript scripts/goldens/selmodel_polished.R
# Needs R with metafor (3.8.1 was used), numDeriv and jsonlite, and the goldens of
# scripts/goldens/selmodel_tight.R, selmodel_more.R and selmodel_delta.R (the data and
# metafor's fits).
#
# metafor's log likelihood at given parameters is selmodel() with beta, tau2 and delta all
# fixed (its ll; integrate() at rel.tol 1e-12, where it agrees with rel.tol 1e-14 to 4e-15).
# From metafor's stopped fit, Newton steps on numDeriv's Richardson gradient (d = 1e-2, r = 4)
# with numDeriv's Hessian (d = 1e-2, r = 4) at the start, until a step is below 1e-10
# (relative); the SEs from the inverse Hessian at the end (of -ll in beta, tau2, delta, as
# metafor's default htransf = FALSE).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

OUT <- "tests/data/goldens_selmodel_polished.json"
find_case <- function(file, name) {
  for (cs in fromJSON(file, simplifyVector = FALSE)$cases) if (cs$name == name) return(cs)
  stop("no case ", name, " in ", file)
}
vec <- function(x) as.numeric(unlist(x))

polish <- function(file, name) {
  cs <- find_case(file, name)
  yi <- vec(cs$yi)
  vi <- vec(cs$vi)
  args <- list(yi, vi, method = cs$rma_method)
  if (!is.null(cs$mods)) args$mods <- do.call(cbind, lapply(cs$mods, vec))
  if (!is.null(cs$ni)) args$ni <- vec(cs$ni)  # the sample sizes prec = "sqrtninv" reads
  res <- do.call(rma, args)
  r <- cs$result
  p <- c(vec(r$beta), vec(r$tau2), vec(r$delta))
  nb <- length(vec(r$beta))
  nd <- length(vec(r$delta))
  ll_at <- function(q) {
    s <- suppressWarnings(do.call(selmodel, c(
      list(res, type = cs$type, beta = q[seq_len(nb)], tau2 = q[nb + 1],
           delta = q[nb + 1 + seq_len(nd)],
           control = list(intCtrl = list(rel.tol = 1e-12, subdivisions = 1000L))),
      cs$options)))
    s$ll
  }
  nll <- function(q) -ll_at(q)
  args <- list(d = 1e-2, r = 4)
  h <- numDeriv::hessian(nll, p, method.args = args)
  steps <- 0L
  repeat {
    step <- solve(h, numDeriv::grad(nll, p, method.args = args))
    p <- p - step
    steps <- steps + 1L
    if (max(abs(step) / pmax(abs(p), 1e-8)) < 1e-10 || steps >= 20L) break
  }
  g <- numDeriv::grad(nll, p, method.args = args)
  h <- numDeriv::hessian(nll, p, method.args = args)
  se <- sqrt(diag(solve(h)))
  list(name = name, from = basename(file), start_ll = vec(r$ll), newton_steps = steps,
       max_gradient = max(abs(g)),
       beta = p[seq_len(nb)], tau2 = p[nb + 1], delta = p[nb + 1 + seq_len(nd)],
       ll = ll_at(p), se = se[seq_len(nb)], se_tau2 = se[nb + 1],
       se_delta = se[nb + 1 + seq_len(nd)])
}

cases <- list(
  polish("tests/data/goldens_selmodel_tight.json", "bcg_ablat_beta_less_tight"),
  polish("tests/data/goldens_selmodel_more.json", "molloy2014_meanage_logistic2"),
  polish("tests/data/goldens_selmodel_more.json", "hackshaw1998_negexppow_two_sided"),
  polish("tests/data/goldens_selmodel_delta.json", "cohen1981_halfnorm_prec_sqrtninv")
)
out <- list(generated_by = "scripts/goldens/selmodel_polished.R",
            metafor_version = as.character(packageVersion("metafor")),
            numderiv_version = as.character(packageVersion("numDeriv")),
            cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "string", pretty = TRUE), OUT)
cat("wrote", OUT, "with", length(cases), "cases\n")
