# Regenerates tests/data/goldens_matreg.json: reference values for metareview.models.matreg
# (metafor's matreg: regression coefficients from a correlation or covariance matrix).
#
# Run from the repository root:
#     Rscript scripts/goldens/matreg.R
# Needs R >= 4.2 with metafor 3.8, metadat and jsonlite. Each case stores its inputs (R, V or n,
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
                ztor = FALSE) {
  args <- list(y = y, x = x, R = R, cov = cov, ztor = ztor)
  if (!is.null(n)) args$n <- n
  if (!is.null(V)) args$V <- V
  if (!is.null(means)) args$means <- means
  res <- do.call(matreg, args)
  tab <- res$tab
  cases[[id]] <<- list(
    id = id, source = source, y = y, x = x, R = mat(R), names = rownames(R),
    n = if (is.null(n)) NULL else vnum(n), V = if (is.null(V)) NULL else mat(V), cov = cov,
    means = if (is.null(means)) NULL else vnum(means), ztor = ztor,
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

out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "string",
                  pretty = FALSE), "tests/data/goldens_matreg.json")
cat("wrote tests/data/goldens_matreg.json\n")
