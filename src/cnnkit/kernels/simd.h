// What cnnkit's kernels share: 16-float vectors (GCC/clang vector extensions, in the
// target's own register width), OpenMP's thread numbers, the split of a batch's
// images over threads, and 2x2 max pooling with ReLU as torch computes it.
#pragma once

#include <cstdint>
#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cnnkit {

// The target's vector width: a 16-float vector is one AVX-512 register, two AVX/AVX2 ones,
// or four 16-byte ones (SSE, NEON, anything else). GCC expands a vector wider than the
// target's registers one element at a time (10-30x slower than oneDNN on AVX2, issue 15),
// so f16v is an array of native vectors and each operation a loop over them.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
constexpr int kParts = 16 / kLanes;  // native vectors in one f16v

typedef float floats __attribute__((vector_size(4 * kLanes)));
typedef int32_t ints __attribute__((vector_size(4 * kLanes)));
typedef uint8_t bytes __attribute__((vector_size(kLanes)));

constexpr long kTile = 16;  // the floats in one f16v: channels go 16 at a time

// 16 floats; `(f16v){}` is zero.
struct f16v {
  floats part[kParts];
  float operator[](int i) const { return part[i / kLanes][i % kLanes]; }
  void set(int i, float v) { part[i / kLanes][i % kLanes] = v; }  // clang: no float& to a lane
};

#define CNNKIT_ELEMENTWISE(OP)                                                   \
  inline f16v operator OP(f16v a, f16v b) {                                     \
    for (int i = 0; i < kParts; ++i) a.part[i] = a.part[i] OP b.part[i];         \
    return a;                                                                   \
  }                                                                             \
  inline f16v& operator OP##=(f16v& a, f16v b) { return a = a OP b; }
CNNKIT_ELEMENTWISE(+)
CNNKIT_ELEMENTWISE(-)
CNNKIT_ELEMENTWISE(*)
#undef CNNKIT_ELEMENTWISE

inline f16v operator*(f16v a, float s) {
  for (int i = 0; i < kParts; ++i) a.part[i] *= s;
  return a;
}
inline f16v operator*(float s, f16v a) { return a * s; }
inline f16v operator-(f16v a) {
  for (int i = 0; i < kParts; ++i) a.part[i] = -a.part[i];
  return a;
}

#ifdef _OPENMP
inline long thread_index() { return omp_get_thread_num(); }
inline long thread_count() { return omp_get_num_threads(); }
#else
inline long thread_index() { return 0; }
inline long thread_count() { return 1; }
#endif

inline f16v load(const float* p) {
  f16v v;
  for (int i = 0; i < kParts; ++i) std::memcpy(&v.part[i], p + i * kLanes, sizeof(floats));
  return v;
}
inline void store(float* p, f16v v) {
  for (int i = 0; i < kParts; ++i) std::memcpy(p + i * kLanes, &v.part[i], sizeof(floats));
}

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
inline f16v relu(f16v v) {
  for (int i = 0; i < kParts; ++i) v.part[i] = v.part[i] < 0 ? (floats){} : v.part[i];
  return v;
}

// ReLU's gradient as torch's: grad_y where the output y is not <= 0 (NaN passes).
inline f16v relu_gradient(const float* y, const float* grad_y) {
  f16v out = load(y), g = load(grad_y);
  for (int i = 0; i < kParts; ++i) out.part[i] = out.part[i] <= 0 ? (floats){} : g.part[i];
  return out;
}

// Pools the four values of a 2x2 window (row-major), then ReLU, as torch: the first of
// equal values wins, NaN wins and stays NaN. Stores the result at y and the winning
// position (0-3) at which.
inline void pool_relu_store(const f16v window[4], float* y, uint8_t* which) {
  f16v best = window[0];
  for (int i = 0; i < kParts; ++i) {
    floats top = best.part[i];
    ints index = {};
    for (int q = 1; q < 4; ++q) {
      const floats v = window[q].part[i];
      const ints wins = (v > top) | (v != v);
      top = wins ? v : top;
      index = wins ? (ints){} + q : index;
    }
    best.part[i] = top;
    const bytes small = __builtin_convertvector(index, bytes);
    std::memcpy(which + i * kLanes, &small, sizeof small);
  }
  store(y, relu(best));
}

// The gradient reaching each position of a pooling window from the pooled output's
// gradient g: g at the position that won (`which`), 0 elsewhere, and 0 everywhere where
// ReLU cut the pooled value y (y <= 0; NaN passes, as in torch).
inline void window_gradient(const float* y, const float* grad_y, const uint8_t* which,
                            f16v out[4]) {
  const f16v g = relu_gradient(y, grad_y);
  for (int i = 0; i < kParts; ++i) {
    bytes small;
    std::memcpy(&small, which + i * kLanes, sizeof small);
    const ints index = __builtin_convertvector(small, ints);
    for (int q = 0; q < 4; ++q) out[q].part[i] = index == q ? g.part[i] : (floats){};
  }
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

// The floats in one of the target's vectors (16 AVX-512, 8 AVX2, 4 SSE/NEON): with 4, the
// kernels are used only when asked for (kernels/probe.py).
extern "C" int cnnkit_vector_lanes() { return cnnkit::kLanes; }
