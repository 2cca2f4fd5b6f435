// What cnnkit's kernels share: 16-float vectors (GCC/clang vector extensions, one
// AVX-512 register or two AVX2 ones), OpenMP's thread numbers, the split of a batch's
// images over threads, and 2x2 max pooling with ReLU as torch computes it.
#pragma once

#include <cstdint>
#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cnnkit {

typedef float f16v __attribute__((vector_size(64)));
typedef int32_t i16v __attribute__((vector_size(64)));
typedef uint8_t u8x16 __attribute__((vector_size(16)));

constexpr long kTile = 16;  // the floats in one vector: channels go 16 at a time

#ifdef _OPENMP
inline long thread_index() { return omp_get_thread_num(); }
inline long thread_count() { return omp_get_num_threads(); }
#else
inline long thread_index() { return 0; }
inline long thread_count() { return 1; }
#endif

inline f16v load(const float* p) { f16v v; std::memcpy(&v, p, sizeof v); return v; }
inline void store(float* p, f16v v) { std::memcpy(p, &v, sizeof v); }

// Runs part(n0, n1, index) on each of `threads` OpenMP threads (torch's own, when this
// library was built with -fopenmp: it shares torch's libgomp), each on its contiguous
// run of the N images.
template <typename Part>
void split_images(long N, int threads, Part part) {
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    long index = thread_index(), count = thread_count();
    part(N * index / count, N * (index + 1) / count, index);
  }
}

// ReLU as torch.relu: negatives to 0, NaN stays NaN.
inline f16v relu(f16v v) { return v < 0 ? (f16v){} : v; }

// ReLU's gradient as torch's: grad_y where the output y is not <= 0 (NaN passes).
inline f16v relu_gradient(const float* y, const float* grad_y) {
  return load(y) <= 0 ? (f16v){} : load(grad_y);
}

// Pools the four values of a 2x2 window (row-major), then ReLU, as torch: the first of
// equal values wins, NaN wins and stays NaN. Stores the result at y and the winning
// position (0-3) at which.
inline void pool_relu_store(const f16v window[4], float* y, uint8_t* which) {
  f16v best = window[0];
  i16v index = {};
  for (int q = 1; q < 4; ++q) {
    i16v wins = (window[q] > best) | (window[q] != window[q]);
    best = wins ? window[q] : best;
    index = wins ? (i16v){} + q : index;
  }
  store(y, relu(best));
  u8x16 small = __builtin_convertvector(index, u8x16);
  std::memcpy(which, &small, sizeof small);
}

// The gradient reaching each position of a pooling window from the pooled output's
// gradient g: g at the position that won (`which`), 0 elsewhere, and 0 everywhere where
// ReLU cut the pooled value y (y <= 0; NaN passes, as in torch).
inline void window_gradient(const float* y, const float* grad_y, const uint8_t* which,
                            f16v out[4]) {
  f16v g = relu_gradient(y, grad_y);
  u8x16 small;
  std::memcpy(&small, which, sizeof small);
  i16v index = __builtin_convertvector(small, i16v);
  for (int q = 0; q < 4; ++q) out[q] = index == q ? g : (f16v){};
}

// Adds up `parts` per-thread sums of `size` floats each, in thread order (so a result
// repeats for a given number of threads), into out[0..size).
inline void sum_parts(const float* sums, long parts, long size, float* out) {
  for (long i = 0; i < size; ++i) {
    float total = 0.0f;
    for (long part = 0; part < parts; ++part) total += sums[part * size + i];
    out[i] = total;
  }
}

}  // namespace cnnkit
