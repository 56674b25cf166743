# metafor's normalising integrals A_i of selmodel (R's integrate(), as .selmodel.ll.cont calls
# it: abs.tol = rel.tol) at the golden estimates of tests/data/goldens_selmodel.json, at
# rel.tol 1.2e-4 (the default), 1e-6, 1e-8, 1e-10, and at rel.tol 1e-13, abs.tol 0 ("tight").
# Run from the repository root (one JSON line per case to stdout):
#   Rscript benchmarks/selmodel_integrals.R hackshaw1998_power hackshaw1998_beta ... > ai.json
# then  python benchmarks/selmodel_integrals.py ai.json  compares them with ours and with an
# independent scipy quad reference.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
g <- fromJSON("tests/data/goldens_selmodel.json", simplifyVector = FALSE)
args <- commandArgs(TRUE)
for (cs in g$cases) {
  if (!(cs$name %in% args)) next
  yi <- unlist(cs$yi); vi <- unlist(cs$vi)
  type <- cs$type; alt <- if (is.null(cs$options$alternative)) "greater" else cs$options$alternative
  r <- cs$result
  beta <- as.numeric(unlist(r$beta)); tau2 <- as.numeric(r$tau2); delta <- as.numeric(unlist(r$delta))
  X <- cbind(rep(1, length(yi)), if (!is.null(cs$mods)) do.call(cbind, lapply(cs$mods, unlist)))
  yhat <- c(X %*% beta)
  steps <- 0; if (!is.null(cs$options$steps)) steps <- c(unlist(cs$options$steps), 1)
  if (type == "power") { pmin <- 1e-5; wi <- function(x, delta, steps) ifelse(x <= steps[1], 1, (1 - x)^delta/(1 - steps[1])^delta) }
  if (type == "beta") { pmin <- 1e-5; wi <- function(x, delta, steps) x^(delta[1] - 1) * (1 - x)^(delta[2] - 1) }
  if (type == "negexp") { pmin <- 0; wi <- function(x, delta, steps) ifelse(x <= steps[1], 1, exp(-delta*x)/exp(-delta*steps[1])) }
  f <- function(y, i) {
    p <- metafor:::.selmodel.pval(y, vi[i], alt); p[p < pmin] <- pmin; p[p > 1 - pmin] <- 1 - pmin
    wi(p, delta, steps) * dnorm(y, yhat[i], sqrt(vi[i] + tau2))
  }
  out <- list()
  for (rt in c(1.220703e-4, 1e-6, 1e-8, 1e-10)) {
    out[[paste0("rt", rt)]] <- sapply(seq_along(yi), function(i) integrate(f, -Inf, Inf, i = i, rel.tol = rt)$value)
  }
  out[["tight"]] <- sapply(seq_along(yi), function(i) {
    v <- try(integrate(f, -Inf, Inf, i = i, rel.tol = 1e-13, abs.tol = 0, subdivisions = 10000L)$value, silent = TRUE)
    if (inherits(v, "try-error")) NA else v })
  cat(toJSON(list(name = cs$name, Ai = out), digits = NA), "\n")
}
