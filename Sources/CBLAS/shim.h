#ifndef ADAPTERMERGE_CBLAS_SHIM_H
#define ADAPTERMERGE_CBLAS_SHIM_H

// OpenBLAS's CBLAS interface. Debian installs it as <cblas.h> (through the
// libblas.so.3 alternatives) with OpenBLAS's own extensions available.
#include <cblas.h>

// The LAPACK routines adaptermerge uses. OpenBLAS ships LAPACK inside
// libopenblas, so declaring the Fortran symbols here avoids depending on a
// particular lapacke.h layout. All arguments are passed by pointer, matrices
// are column-major, and `lwork = -1` asks for the optimal workspace size.
void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau,
             float *work, const int *lwork, int *info);
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
             double *work, const int *lwork, int *info);
void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda,
             const float *tau, float *work, const int *lwork, int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
             const double *tau, double *work, const int *lwork, int *info);
void sgesdd_(const char *jobz, const int *m, const int *n, float *a, const int *lda,
             float *s, float *u, const int *ldu, float *vt, const int *ldvt,
             float *work, const int *lwork, int *iwork, int *info);
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda,
             double *s, double *u, const int *ldu, double *vt, const int *ldvt,
             double *work, const int *lwork, int *iwork, int *info);

#endif
