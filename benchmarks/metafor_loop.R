# The metafor side of benchmarks/pool_benchmark.py: one rma() per analysis in a loop.
# Usage: Rscript benchmarks/metafor_loop.R IN.csv OUT.csv [tight|default]
#   tight:   control = list(threshold = 1e-12, maxiter = 5000), the convergence our goldens use
#   default: metafor's default control (threshold 1e-5)
# Prints the loop's CPU time (user + sys) as "cpu_seconds=<x>", then its wall time in seconds on
# stdout as "seconds=<x>" (the last line).
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
mode <- if (length(args) >= 3) args[3] else "tight"
ctrl <- if (mode == "tight") list(threshold = 1e-12, maxiter = 5000) else list()
groups <- split(dat, dat$id)
t0 <- proc.time()
res <- lapply(groups, function(g) {
  fit <- tryCatch(rma(g$yi, g$vi, method = "REML", control = ctrl), error = function(e) NULL)
  if (is.null(fit)) return(c(NA, NA, NA, NA, NA))
  c(fit$beta[1], fit$se, fit$tau2, fit$ci.lb, fit$ci.ub)
})
t1 <- proc.time()
elapsed <- t1[["elapsed"]] - t0[["elapsed"]]
cpu <- (t1[["user.self"]] + t1[["sys.self"]]) - (t0[["user.self"]] + t0[["sys.self"]])
out <- data.frame(id = as.numeric(names(groups)), do.call(rbind, res))
names(out) <- c("id", "estimate", "se", "tau2", "ci_lb", "ci_ub")
write.csv(out, args[2], row.names = FALSE)
cat(sprintf("cpu_seconds=%.3f\n", cpu))
cat(sprintf("seconds=%.3f\n", elapsed))
