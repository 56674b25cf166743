# Regenerates tests/data/goldens_matreg.json: reference values for metareview.models.matreg
# (metafor's matreg: regression coefficients from a correlation or covariance matrix).
#
# Run from the repository root:
#     Rscript scripts/goldens/matreg.R
# Needs R >= 4.2 with metafor 3.8, metadat, Matrix and jsonlite. Each case stores its inputs (R, V or n,
# means) so that the test feeds metareview exactly what matreg got, and matreg's output
# (tab, vb, R2, F/QM) and print().

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
options(useFancyQuotes = FALSE, width = 200)

cases <- list()
vnum <- function(x) if (is.null(x)) numeric(0) else as.numeric(x)
mat <- function(x) unname(as.matrix(x))
add <- function(id, source, y, x, R, n = NULL, V = NULL, cov = FALSE, means = NULL,
                ztor = FALSE, nearpd = FALSE) {
  args <- list(y = y, x = x, R = R, cov = cov, ztor = ztor, nearpd = nearpd)
  if (!is.null(n)) args$n <- n
  if (!is.null(V)) args$V <- V
  if (!is.null(means)) args$means <- means
  res <- do.call(matreg, args)
  tab <- res$tab
  cases[[id]] <<- list(
    id = id, source = source, y = y, x = x, R = mat(R), names = rownames(R),
    n = if (is.null(n)) NULL else vnum(n), V = if (is.null(V)) NULL else mat(V), cov = cov,
    means = if (is.null(means)) NULL else vnum(means), ztor = ztor, nearpd = nearpd,
    coef_names = rownames(tab), beta = vnum(tab$beta), se = vnum(tab$se),
    stat = vnum(if (res$test == "t") tab$tval else tab$zval), pval = vnum(tab$pval),
    ci_lb = vnum(tab$ci.lb), ci_ub = vnum(tab$ci.ub), df = vnum(tab$df), vb = mat(res$vb),
    R2 = vnum(res$R2), R2adj = vnum(res$R2adj), F = vnum(res$F), Fp = vnum(res$Fp),
    QM = vnum(res$QM), QMp = vnum(res$QMp), test = res$test,
    print = paste(capture.output(print(res)), collapse = "\n"))
}

# ?matreg (metafor 5.x help; the same calls run in 3.8.1): mtcars, as lm(mpg ~ hp + wt + am)
S <- cov(mtcars)
add("mtcars_cov_n", "matreg(y=1, x=c(4,6,9), R=cov(mtcars), cov=TRUE, means=colMeans(mtcars), n=32)",
    1, c(4, 6, 9), S, n = nrow(mtcars), cov = TRUE, means = colMeans(mtcars))
add("mtcars_cov_n_nomeans", "matreg(y=1, x=c(4,6,9), R=cov(mtcars), cov=TRUE, n=32)",
    1, c(4, 6, 9), S, n = nrow(mtcars), cov = TRUE)
Rm <- cor(mtcars)
add("mtcars_cor_n", "matreg(y='mpg', x=c('hp','wt','am'), R=cor(mtcars), n=32)",
    "mpg", c("hp", "wt", "am"), Rm, n = nrow(mtcars))
Vm <- rcalc(Rm, ni = nrow(mtcars))$V
add("mtcars_cor_V", "matreg(y='mpg', x=c('hp','wt','am'), R=cor(mtcars), V=rcalc(R, ni=32)$V)",
    "mpg", c("hp", "wt", "am"), Rm, V = Vm)

# ?matreg (3.8.1): dat.craft2003, the pooled correlations of a UN rma.mv fit
for (z in c(FALSE, TRUE)) {
  tmp <- rcalc(ri ~ var1 + var2 | study, ni = ni, data = dat.craft2003, rtoz = z)
  dat <- tmp$dat
  dat$var1.var2 <- factor(dat$var1.var2, levels = c("acog.perf", "asom.perf", "conf.perf",
                                                    "acog.asom", "acog.conf", "asom.conf"))
  res <- rma.mv(yi, tmp$V, mods = ~ var1.var2 - 1, random = ~ var1.var2 | study, struct = "UN",
                data = dat)
  R <- vec2mat(coef(res))
  rownames(R) <- colnames(R) <- c("perf", "acog", "asom", "conf")
  add(if (z) "craft2003_ztor" else "craft2003", "?matreg: matreg(1, 2:4, R=R, V=vcov(res)[, ztor=TRUE])",
      1, 2:4, R, V = vcov(res), ztor = z)
}

# metafor's tests/testthat/test_analysis_example_vanhouwelingen2002.r lines 186-199
dl <- to.long(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.colditz1994)
dl <- escalc(measure = "PLO", xi = out1, mi = out2, data = dl)
levels(dl$group) <- c("CON", "EXP")
res <- rma.mv(yi, vi, mods = ~ 0 + group, random = ~ group | trial, struct = "UN", data = dl,
              method = "ML")
add("vanhouwelingen_n", "matreg(y=2, x=1, R=res$G, cov=TRUE, means=coef(res), n=res$g.levels.comb.k)",
    2, 1, res$G, n = res$g.levels.comb.k, cov = TRUE, means = coef(res))
res <- rma.mv(yi, vi, mods = ~ 0 + group, random = ~ group | trial, struct = "UN", data = dl,
              method = "ML", cvvc = "varcov", control = list(nearpd = TRUE))
add("vanhouwelingen_V", "matreg(y=2, x=1, R=res$G, cov=TRUE, means=coef(res), V=res$vvc)",
    2, 1, res$G, V = res$vvc, cov = TRUE, means = coef(res))

# nearpd = TRUE: R[x,x] not positive definite (correlations of three predictors that no data
# can have), replaced by Matrix::nearPD(R[x,x], corr = TRUE)$mat as metafor 3.8.1 does. The
# repaired R[x,x] has its smallest eigenvalue at 1.7e-8 of the largest, so the coefficients are
# huge (1.8e6) and with n (not here) R^2 exceeds 1 and the SEs are NA: metafor's "treat results
# with caution"; with V the numbers are finite.
Rn <- matrix(c(1, 0.5, 0.4, 0.3,
               0.5, 1, 0.9, 0.9,
               0.4, 0.9, 1, -0.5,
               0.3, 0.9, -0.5, 1), 4, 4)
rownames(Rn) <- colnames(Rn) <- c("y", "x1", "x2", "x3")
add("nonpd_nearpd_V", "matreg(y=1, x=2:4, R=Rn, V=rcalc(Rn, ni=100)$V, nearpd=TRUE) (constructed R)",
    1, 2:4, Rn, V = rcalc(Rn, ni = 100)$V, nearpd = TRUE)

# Matrix::nearPD itself (metafor's nearpd options call it): each case stores the matrix, the
# options and nearPD's mat, eigenvalues, iterations and converged
nearpd_cases <- list()
add_npd <- function(id, source, x, corr = FALSE, keepDiag = FALSE) {
  r <- Matrix::nearPD(x, corr = corr, keepDiag = keepDiag)
  nearpd_cases[[id]] <<- list(id = id, source = source, x = unname(as.matrix(x)), corr = corr,
                              keepDiag = keepDiag, mat = unname(as.matrix(r$mat)),
                              eigenvalues = vnum(r$eigenvalues), iterations = r$iterations,
                              converged = r$converged)
}
Rx <- unname(Rn[2:4, 2:4])
add_npd("nonpd_cor_corr", "R[x,x] of nonpd_nearpd_n, corr = TRUE (as matreg)", Rx, corr = TRUE)
add_npd("nonpd_cor", "R[x,x] of nonpd_nearpd_n, corr = FALSE", Rx)
# a covariance matrix of three correlated effects (vcalc-style V with rho = 0.9 and -0.6,
# impossible together), keepDiag = TRUE and not
Vx <- diag(sqrt(c(0.04, 0.09, 0.0625))) %*% Rx %*% diag(sqrt(c(0.04, 0.09, 0.0625)))
add_npd("nonpd_cov", "a V of sampling covariances that is not positive definite", Vx)
add_npd("nonpd_cov_keepdiag", "the same, keepDiag = TRUE", Vx, keepDiag = TRUE)
# positive definite: unchanged (to rounding); positive semidefinite (rank 2): do2eigen step
add_npd("pd_unchanged", "a positive definite matrix", matrix(c(2, 0.5, 0.2, 0.5, 1, 0.3, 0.2, 0.3, 1.5), 3, 3))
u <- c(1, 2, 3, 4); w <- c(1, -1, 1, 0.5)
add_npd("psd_rank2", "u u' + w w' (rank 2 of 4)", tcrossprod(u) + tcrossprod(w))
# a block-diagonal matrix: nearPD of the whole (the thresholds and the convergence test are
# global), the reference for nearpd_blocks
add_npd("blockdiag", "bdiag(the V above, the rank-2 matrix, a 2x2 non-PD block)",
        as.matrix(Matrix::bdiag(Vx, tcrossprod(u) + tcrossprod(w),
                                matrix(c(1, 1.2, 1.2, 1), 2, 2))))

out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        Matrix = as.character(packageVersion("Matrix"))),
            cases = cases, nearpd_cases = nearpd_cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "string",
                  pretty = FALSE), "tests/data/goldens_matreg.json")
cat("wrote tests/data/goldens_matreg.json\n")
