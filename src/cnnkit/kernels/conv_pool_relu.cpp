// A convolution with few input channels, its bias, 2x2/2 max pooling and ReLU in one pass.
//
// This is the first layer of most image CNNs (1 or 3 input channels, 3x3 or 5x5 kernel,
// then max pooling), where oneDNN reaches only 25-75 GFLOP/s and the pooling reads and
// writes the whole convolution output again. Here each 16-channel tile of a pooled pixel
// is computed in registers: the four convolution outputs under the pooling window, their
// maximum (the first one wins a tie, NaN wins, as in torch), ReLU, then one store.
//
// Layouts (all float32 unless said): x is (N, H, W, CI) (an NCHW tensor in channels_last
// memory), already padded; weight is (CO, KH, KW, CI) (a channels_last OIHW tensor);
// bias (CO); y (N, PH, PW, CO); which (N, PH, PW, CO) uint8, the window position (0-3,
// row-major) each pooled value came from. CO is a multiple of 16. Stride 1, no dilation.
//
// The backward pass gives the weight and bias gradients only: this layer's input is data,
// which needs no gradient.
//
// A call splits its images over `threads` threads of OpenMP. Built with -fopenmp, this
// library shares torch's OpenMP runtime (libgomp.so.1, already loaded by torch), so these
// are torch's own threads, which spin between torch's operations: a thread of our own
// would fight them for the cores. Each thread sums its own weight gradient; the sums are
// added in thread order, so a result repeats for a given number of threads.
// Every function returns 1, or 0 if this kernel size / channel count is not compiled in.

#include <algorithm>
#include <vector>

#include "simd.h"

namespace {

using namespace cnnkit;

// Pooled pixels computed together: on AVX-512, 12 independent sums hide the FMA latency (3
// ran 1.1-1.8x faster than 2, and 4 or more no faster); with narrower registers (two or
// four per 16 floats, 16 of them) one pixel's 4 sums already fill half of them.
constexpr int kPixels = kParts == 1 ? 3 : 1;

struct Shape {
  long N, H, W, CO, PH, PW;
};

// The pooled outputs of P neighbouring pixels of one row, for one channel tile.
template <int KH, int KW, int CI, int P>
inline void pooled_pixels(const float* x, const f16v* w, f16v bias, const Shape& s, float* y,
                          uint8_t* which) {
  f16v acc[P][4];
  for (int p = 0; p < P; ++p)
    for (int q = 0; q < 4; ++q) acc[p][q] = bias;
  for (int ky = 0; ky < KH; ++ky)
    for (int kx = 0; kx < KW; ++kx)
      for (int ci = 0; ci < CI; ++ci) {
        f16v wv = w[(ky * KW + kx) * CI + ci];
        for (int p = 0; p < P; ++p)
          for (int q = 0; q < 4; ++q)
            acc[p][q] += wv * x[((ky + (q >> 1)) * s.W + kx + (q & 1) + 2 * p) * CI + ci];
      }
  for (int p = 0; p < P; ++p) pool_relu_store(acc[p], y + p * s.CO, which + p * s.CO);
}

template <int KH, int KW, int CI>
void forward(const float* x, const float* weight, const float* bias, float* y,
             uint8_t* which, long n0, long n1, const Shape& s) {
  constexpr int T = KH * KW * CI;
  for (long tile = 0; tile < s.CO; tile += kTile) {
    f16v w[T];
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < kTile; ++c) w[t].set(c, weight[(tile + c) * T + t]);
    f16v b = load(bias + tile);
    for (long n = n0; n < n1; ++n)
      for (long py = 0; py < s.PH; ++py) {
        const float* row = x + (n * s.H + 2 * py) * s.W * CI;
        long out = (n * s.PH + py) * s.PW * s.CO + tile;
        long px = 0;
        for (; px + kPixels <= s.PW; px += kPixels)
          pooled_pixels<KH, KW, CI, kPixels>(row + 2 * px * CI, w, b, s, y + out + px * s.CO,
                                             which + out + px * s.CO);
        for (; px < s.PW; ++px)
          pooled_pixels<KH, KW, CI, 1>(row + 2 * px * CI, w, b, s, y + out + px * s.CO,
                                       which + out + px * s.CO);
      }
  }
}

template <int KH, int KW, int CI>
void backward(const float* x, const float* grad_y, const float* y, const uint8_t* which,
              float* grad_weight, float* grad_bias, long n0, long n1, const Shape& s) {
  constexpr int T = KH * KW * CI;
  for (long tile = 0; tile < s.CO; tile += kTile) {
    // Sums per row of pooled pixels, then per image, then over the images: three short
    // chains of float additions instead of one as long as the batch (oneDNN's error, not
    // a larger one, also without FMA, where every product is rounded before it is added).
    f16v total[T], bias_total = {};
    for (int t = 0; t < T; ++t) total[t] = (f16v){};
    for (long n = n0; n < n1; ++n) {
      f16v image_acc[T];
      for (int t = 0; t < T; ++t) image_acc[t] = (f16v){};
      f16v bias_acc = {};
      for (long py = 0; py < s.PH; ++py) {
        f16v acc[T];
        for (int t = 0; t < T; ++t) acc[t] = (f16v){};
        for (long px = 0; px < s.PW; ++px) {
          const float* xp = x + ((n * s.H + 2 * py) * s.W + 2 * px) * CI;
          long out = ((n * s.PH + py) * s.PW + px) * s.CO + tile;
          f16v gq[4];  // the gradient of each window position
          window_gradient(y + out, grad_y + out, which + out, gq);
          bias_acc += gq[0] + gq[1] + gq[2] + gq[3];
          for (int ky = 0; ky < KH; ++ky)
            for (int kx = 0; kx < KW; ++kx)
              for (int ci = 0; ci < CI; ++ci) {
                const float* at = xp + (ky * s.W + kx) * CI + ci;
                f16v& sum = acc[(ky * KW + kx) * CI + ci];
                sum += gq[0] * at[0];
                sum += gq[1] * at[CI];
                sum += gq[2] * at[s.W * CI];
                sum += gq[3] * at[(s.W + 1) * CI];
              }
        }
        for (int t = 0; t < T; ++t) image_acc[t] += acc[t];
      }
      for (int t = 0; t < T; ++t) total[t] += image_acc[t];
      bias_total += bias_acc;
    }
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < kTile; ++c) grad_weight[(tile + c) * T + t] = total[t][c];
    store(grad_bias + tile, bias_total);
  }
}

Shape shape_of(long N, long H, long W, long CO, int kh, int kw) {
  return Shape{N, H, W, CO, (H - kh + 1) / 2, (W - kw + 1) / 2};
}

}  // namespace

#define CNNKIT_CASES(X) \
  X(3, 3, 1) X(3, 3, 2) X(3, 3, 3) X(3, 3, 4) X(5, 5, 1) X(5, 5, 2) X(5, 5, 3) X(5, 5, 4)

extern "C" {

int cnnkit_conv_pool_relu_openmp() {  // 1 if calls can split over OpenMP threads
#ifdef _OPENMP
  return 1;
#else
  return 0;
#endif
}

int cnnkit_conv_pool_relu_supports(int kh, int kw, int ci) {
#define CNNKIT_SUPPORTS(A, B, C) if (kh == A && kw == B && ci == C) return 1;
  CNNKIT_CASES(CNNKIT_SUPPORTS)
  return 0;
}

int cnnkit_conv_pool_relu_forward(int kh, int kw, int ci, const float* x, const float* weight,
                                  const float* bias, float* y, uint8_t* which, long N,
                                  long H, long W, long CO, int threads) {
  Shape s = shape_of(N, H, W, CO, kh, kw);
#define CNNKIT_FORWARD(A, B, C)                                     \
  if (kh == A && kw == B && ci == C) {                              \
    split_images(N, threads, [&](long n0, long n1, long) {          \
      forward<A, B, C>(x, weight, bias, y, which, n0, n1, s);       \
    });                                                             \
    return 1;                                                       \
  }
  CNNKIT_CASES(CNNKIT_FORWARD)
  return 0;
}

int cnnkit_conv_pool_relu_backward(int kh, int kw, int ci, const float* x, const float* grad_y,
                                   const float* y, const uint8_t* which, float* grad_weight,
                                   float* grad_bias, long N, long H, long W, long CO,
                                   int threads) {
  if (!cnnkit_conv_pool_relu_supports(kh, kw, ci)) return 0;
  Shape s = shape_of(N, H, W, CO, kh, kw);
  const long weights = CO * kh * kw * ci, size = weights + CO;
  std::vector<float> sums(size * (threads > 1 ? threads : 1), 0.0f);
  split_images(N, threads, [&](long n0, long n1, long index) {
    float* mine = sums.data() + index * size;
#define CNNKIT_BACKWARD(A, B, C) \
    if (kh == A && kw == B && ci == C) backward<A, B, C>(x, grad_y, y, which, mine, mine + weights, n0, n1, s);
    CNNKIT_CASES(CNNKIT_BACKWARD)
  });
  std::vector<float> total(size);
  sum_parts(sums.data(), static_cast<long>(sums.size()) / size, size, total.data());
  std::copy(total.begin(), total.begin() + weights, grad_weight);
  std::copy(total.begin() + weights, total.end(), grad_bias);
  return 1;
}

}  // extern "C"
