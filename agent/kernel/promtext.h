/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Prometheus' text exposition format, as etcd's /metrics serves it: the sum of a counter
 * over its label sets, and a histogram's quantile the way PromQL's histogram_quantile()
 * computes it (linear interpolation inside the bucket that holds the rank). Pure: text in. */

#include <stdbool.h>
#include <stdint.h>

/* Sum of every sample of the metric name (any labels); -ENOENT when there is none. */
int prom_counter(const char *text, const char *name, double *ret);
/* The q-quantile (0..1) of histogram name (without _bucket), its buckets summed over the
 * other labels; *ret_count: the observations. -ENOENT: no such histogram; -ENODATA: no
 * observation yet. */
int prom_histogram_quantile(const char *text, const char *name, double q, double *ret, double *ret_count);
