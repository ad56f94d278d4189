/*
 * What the safetensors writers share (safetensors_write.c, safetensors_stream.c).
 */
#ifndef ECO_FORMATS_SAFETENSORS_INTERNAL_H
#define ECO_FORMATS_SAFETENSORS_INTERNAL_H

#include "ecology/safetensors.h"

/* Checks tensors[n] (names unique and not "__metadata__", known dtype, nbytes equal to
 * shape × dtype size; data non-NULL for non-empty tensors only when need_data), puts them
 * in the data layout order (element size descending, then name) into *order (malloc'd [n]
 * of pointers into tensors, caller frees) and builds the header text padded with spaces so
 * that 8 + *hdr_len is a multiple of 64 (*hdr malloc'd, caller frees). *data_len is the
 * size of the data buffer. label names the file in errors. */
eco_status eco_safetensors_build_header(const char *label, const eco_tensor *tensors, size_t n,
                                        const char *const *meta, size_t n_meta, bool need_data,
                                        const eco_tensor ***order, char **hdr, size_t *hdr_len,
                                        size_t *data_len);
/* out[8] = v, little-endian. */
void eco_safetensors_put_le64(uint8_t out[8], uint64_t v);

#endif
