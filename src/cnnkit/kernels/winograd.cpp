// A 3x3 convolution, its bias and ReLU, then 2x2/2 max pooling or not, by Winograd's
// F(2x2, 3x3).
//
// Each 2x2 block of outputs is one tile: the 4x4 input patch under it, transformed
// (V = B'dB), times the transformed filters (U = GgG') point by point, transformed back
// (Y = A'MA), gives the four outputs with 16 multiplications per channel pair instead of
// 36. The products are 16 small matrix products per tile block (tiles x input channels
// times input channels x filters), done in registers. Followed by 2x2 max pooling, a
// pooling window is exactly one tile: its four outputs are pooled and rectified before
// anything is stored, and only the outputs a floor-mode pooling reads are computed (a
// 13x13 output pooled to 6x6 needs 12x12). Unpooled, each output is rectified and stored.
//
// The backward pass gives the input gradient too (this is a layer inside the network):
// each output's gradient passes ReLU (and, pooled, goes to the winning position of its
// window), then through the same transforms transposed: dM = A dY A', dU = sum over
// tiles of V'dM (per run of tiles, then over runs), dV = dM U', dx += B dV B'
// (overlapping patches add up), dw = G'dU G.
//
// Layouts (float32 unless said): x (N, H, W, CI), unpadded (reads outside it are the
// zero padding: top/left given, bottom/right implied by the output size OH x OW);
// weight (CO, 3, 3, CI) (a channels_last OIHW tensor); bias (CO); y (N, OH/2, OW/2, CO)
// pooled, else (N, OH, OW, CO); pooled, which (N, OH/2, OW/2, CO) uint8: the window
// position (0-3, row-major) each pooled value came from. CI and CO are multiples of 16.
// Stride 1, no dilation.

#include <algorithm>
#include <vector>

#include "simd.h"

namespace {

using namespace cnnkit;

constexpr int kPoints = 16;  // a 4x4 tile in the Winograd domain
// A matrix-product block's sums stay in registers: tiles x channels of them, with room
// for a row of the right-hand side. AVX-512 (32 registers of 16 floats): 6 tiles x 64
// channels, 24 registers; AVX2 (16 of 8): 3 x 32, 12; 16-byte vectors (16 of SSE, 32 of
// NEON): 3 x 16, 12. More tiles per block on AVX2 (6 x 16, 6 x 32) ran 10-20x slower.
constexpr int kBlock = kParts == 1 ? 6 : 3;                      // tiles per block
constexpr long kChunk = kParts == 1 ? 64 : kParts == 2 ? 32 : 16;  // channels per block
constexpr long kGroupTiles = 32;  // at least this many tiles per group of small images
constexpr long kRunFloats = 8192;  // a run's tiles x channels: its V and dM stay in cache

// OH x OW is the convolution's output; pooled, the 2x2 windows a floor-mode pooling reads
// are the tiles (an odd last row or column is left out); else the tiles cover it all.
struct Geometry {
  long N, H, W, CI, CO, top, left, OH, OW;
  bool pooled;
  long tile_rows() const { return pooled ? OH / 2 : (OH + 1) / 2; }
  long tile_cols() const { return pooled ? OW / 2 : (OW + 1) / 2; }
  long tiles() const { return tile_rows() * tile_cols(); }
  long outputs() const { return pooled ? tiles() : OH * OW; }  // pixels of y per image
  // The tiles of a batch are numbered image by image, and go through the kernel in runs:
  // small images in groups (a 6x6 input has 4 tiles: alone, too few for a product to
  // pay), a large image in parts (a 224x224 one has 12,544, whose V would not stay in
  // cache).
  long run_limit() const { return std::max(kGroupTiles, kRunFloats / std::max(CI, CO)); }
  long group() const { return std::max(1L, (kGroupTiles + tiles() - 1) / tiles()); }
};

// Tiles [first, first + count) of a batch (image first / tiles, ...).
struct Run {
  long first, count;
};

// Runs part(run) on the runs of images [n0, n1): groups of whole small images, or parts
// of at most run_limit() tiles of one large image.
template <typename Part>
void for_runs(const Geometry& g, long n0, long n1, Part part) {
  const long T = g.tiles(), limit = g.run_limit();
  if (T <= limit) {
    for (long n = n0; n < n1; n += g.group()) part(Run{n * T, std::min(g.group(), n1 - n) * T});
    return;
  }
  for (long n = n0; n < n1; ++n)
    for (long t0 = 0; t0 < T; t0 += limit) part(Run{n * T + t0, std::min(limit, T - t0)});
}

// The largest run's tile count, for the buffers.
long largest_run(const Geometry& g) {
  return g.tiles() <= g.run_limit() ? g.group() * g.tiles() : g.run_limit();
}

// V[point][tile][ci] of a run: B'dB of each tile's 4x4 input patch.
void transform_input(const float* x_batch, const Geometry& g, Run run, float* V) {
  const long stride = run.count * g.CI;
  for (long k = 0; k < run.count; ++k) {
    const long b = run.first + k, t = b % g.tiles();
    const float* x = x_batch + b / g.tiles() * g.H * g.W * g.CI;
    const long r0 = 2 * (t / g.tile_cols()) - g.top, c0 = 2 * (t % g.tile_cols()) - g.left;
    for (long ci = 0; ci < g.CI; ci += kTile) {
      f16v d[4][4], rows[4][4];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          const long r = r0 + i, c = c0 + j;
          d[i][j] = (r >= 0 && r < g.H && c >= 0 && c < g.W)
                        ? load(x + (r * g.W + c) * g.CI + ci) : (f16v){};
        }
      for (int j = 0; j < 4; ++j) {
        rows[0][j] = d[0][j] - d[2][j];
        rows[1][j] = d[1][j] + d[2][j];
        rows[2][j] = d[2][j] - d[1][j];
        rows[3][j] = d[1][j] - d[3][j];
      }
      float* out = V + k * g.CI + ci;
      for (int i = 0; i < 4; ++i) {
        const f16v* r = rows[i];
        store(out + (i * 4 + 0) * stride, r[0] - r[2]);
        store(out + (i * 4 + 1) * stride, r[1] + r[2]);
        store(out + (i * 4 + 2) * stride, r[2] - r[1]);
        store(out + (i * 4 + 3) * stride, r[1] - r[3]);
      }
    }
  }
}

// Ut[point][co][ci] (GgG' of each 3x3 filter, 16 input channels at a time) and its
// transpose U[point][ci][co].
void transform_weights(const float* weight, long CI, long CO, float* U, float* Ut) {
  for (long co = 0; co < CO; ++co)
    for (long ci = 0; ci < CI; ci += kTile) {
      f16v g[3][3], half[4][3];
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx)
          g[ky][kx] = load(weight + ((co * 3 + ky) * 3 + kx) * CI + ci);
      for (int kx = 0; kx < 3; ++kx) {
        half[0][kx] = g[0][kx];
        half[1][kx] = 0.5f * (g[0][kx] + g[1][kx] + g[2][kx]);
        half[2][kx] = 0.5f * (g[0][kx] - g[1][kx] + g[2][kx]);
        half[3][kx] = g[2][kx];
      }
      for (int i = 0; i < 4; ++i) {
        const f16v* h = half[i];
        const f16v u[4] = {h[0], 0.5f * (h[0] + h[1] + h[2]), 0.5f * (h[0] - h[1] + h[2]),
                           h[2]};
        for (int j = 0; j < 4; ++j) store(Ut + ((i * 4 + j) * CO + co) * CI + ci, u[j]);
      }
    }
  for (int point = 0; point < kPoints; ++point)
    for (long ci = 0; ci < CI; ++ci)
      for (long co = 0; co < CO; ++co)
        U[(point * CI + ci) * CO + co] = Ut[(point * CO + co) * CI + ci];
}

// A matrix product, the one every pass here is made of: for `rows` rows b,
// out[b * out_stride + 0..16*NV) = (or, adding, +=) the sum over k < K of
// left[b * row_step + k * k_step] * right[k * stride + 0..16*NV).
struct Product {
  const float* left;
  long row_step, k_step, K;
  const float* right;
  long stride;
  float* out;
  long out_stride;
};

template <int NV, int ROWS, bool ADD>
inline void multiply(const Product& p) {
  f16v acc[ROWS][NV];
  for (int b = 0; b < ROWS; ++b)
    for (int v = 0; v < NV; ++v) acc[b][v] = (f16v){};
  for (long k = 0; k < p.K; ++k) {
    f16v r[NV];
    for (int v = 0; v < NV; ++v) r[v] = load(p.right + k * p.stride + v * kTile);
    const float* column = p.left + k * p.k_step;
    for (int b = 0; b < ROWS; ++b) {
      const float l = column[b * p.row_step];
      for (int v = 0; v < NV; ++v) acc[b][v] += l * r[v];
    }
  }
  for (int b = 0; b < ROWS; ++b)
    for (int v = 0; v < NV; ++v) {
      float* out = p.out + b * p.out_stride + v * kTile;
      store(out, ADD ? load(out) + acc[b][v] : acc[b][v]);
    }
}

template <int NV, bool ADD>
inline void multiply_rows(long rows, const Product& p) {
  switch (rows) {
    case 1: multiply<NV, 1, ADD>(p); break;
    case 2: multiply<NV, 2, ADD>(p); break;
    case 3: multiply<NV, 3, ADD>(p); break;
    case 4: multiply<NV, 4, ADD>(p); break;
    case 5: multiply<NV, 5, ADD>(p); break;
    default: multiply<NV, kBlock, ADD>(p); break;
  }
}

// multiply() on `rows` rows (at most kBlock) and `width` channels (a multiple of 16, at
// most kChunk).
template <bool ADD = false>
inline void multiply_block(long rows, long width, const Product& p) {
  switch (width / kTile) {
    case 1: multiply_rows<1, ADD>(rows, p); break;
    case 2: multiply_rows<2, ADD>(rows, p); break;
    case 3: multiply_rows<3, ADD>(rows, p); break;
    default: multiply_rows<4, ADD>(rows, p); break;
  }
}

// A tile's four outputs (one 16-channel vector each): pooled, rectified and stored with
// the winning position; or, unpooled, each rectified (NaN stays, as torch.relu) and
// stored where it lies inside the output.
// Tile b of the batch is tile t of image k.
inline void store_outputs(const f16v window[4], const Geometry& g, long b, long co, float* y,
                          uint8_t* which) {
  const long k = b / g.tiles(), t = b % g.tiles();
  if (g.pooled) {
    const long at = (k * g.tiles() + t) * g.CO + co;
    pool_relu_store(window, y + at, which + at);
    return;
  }
  y += k * g.outputs() * g.CO;
  const long r0 = 2 * (t / g.tile_cols()), c0 = 2 * (t % g.tile_cols());
  for (int q = 0; q < 4; ++q) {
    const long r = r0 + q / 2, c = c0 + q % 2;
    if (r < g.OH && c < g.OW) store(y + (r * g.OW + c) * g.CO + co, relu(window[q]));
  }
}

// The gradient reaching each of a tile's four outputs: through the pooling and ReLU, or
// (unpooled) through each output's ReLU, and 0 at outputs outside the output.
inline void tile_gradient(const float* y, const float* grad_y, const uint8_t* which,
                          const Geometry& g, long b, long co, f16v q[4]) {
  const long k = b / g.tiles(), t = b % g.tiles();
  if (g.pooled) {
    const long at = (k * g.tiles() + t) * g.CO + co;
    window_gradient(y + at, grad_y + at, which + at, q);
    return;
  }
  const long r0 = 2 * (t / g.tile_cols()), c0 = 2 * (t % g.tile_cols());
  for (int p = 0; p < 4; ++p) {
    const long r = r0 + p / 2, c = c0 + p % 2;
    const long at = (k * g.outputs() + r * g.OW + c) * g.CO + co;
    q[p] = (r < g.OH && c < g.OW) ? relu_gradient(y + at, grad_y + at) : (f16v){};
  }
}

// A run's outputs: y (and which, pooled).
void forward_run(const float* x, const float* U, const float* bias, const Geometry& g, Run run,
                 float* V, float* M, float* y, uint8_t* which) {
  transform_input(x, g, run, V);
  const long tiles = run.count;
  for (long t0 = 0; t0 < tiles; t0 += kBlock)
    for (long co0 = 0; co0 < g.CO; co0 += kChunk) {
      const long rows = std::min<long>(kBlock, tiles - t0), width = std::min(kChunk, g.CO - co0);
      for (int point = 0; point < kPoints; ++point)  // M[point][b][0..width)
        multiply_block(rows, width, {V + (point * tiles + t0) * g.CI, g.CI, 1, g.CI,
                                     U + point * g.CI * g.CO + co0, g.CO,
                                     M + point * kBlock * kChunk, kChunk});
      for (long b = 0; b < rows; ++b)
        for (long c = 0; c < width; c += kTile) {
          f16v m[kPoints], half[2][4];  // A'M, then (A'M)A
          for (int point = 0; point < kPoints; ++point)
            m[point] = load(M + (point * kBlock + b) * kChunk + c);
          for (int j = 0; j < 4; ++j) {
            half[0][j] = m[j] + m[4 + j] + m[8 + j];
            half[1][j] = m[4 + j] - m[8 + j] - m[12 + j];
          }
          const f16v bv = load(bias + co0 + c);
          const f16v window[4] = {half[0][0] + half[0][1] + half[0][2] + bv,
                                  half[0][1] - half[0][2] - half[0][3] + bv,
                                  half[1][0] + half[1][1] + half[1][2] + bv,
                                  half[1][1] - half[1][2] - half[1][3] + bv};
          store_outputs(window, g, run.first + t0 + b, co0 + c, y, which);
        }
    }
}

// dM[point][tile][co] of a run (A dY A' of each tile's output gradient); adds its bias
// gradient to bias_sum.
void transform_gradient(const float* y, const float* grad_y, const uint8_t* which,
                        const Geometry& g, Run run, float* dM, float* bias_sum) {
  const long stride = run.count * g.CO;
  for (long co = 0; co < g.CO; co += kTile) {
    f16v bias_acc = {};
    for (long k = 0; k < run.count; ++k) {
      f16v q[4];  // dY: (0,0), (0,1), (1,0), (1,1)
      tile_gradient(y, grad_y, which, g, run.first + k, co, q);
      const long at = k * g.CO + co;
      bias_acc += q[0] + q[1] + q[2] + q[3];
      const f16v rows[4][2] = {{q[0], q[1]}, {q[0] + q[2], q[1] + q[3]},
                               {q[0] - q[2], q[1] - q[3]}, {-q[2], -q[3]}};
      for (int i = 0; i < 4; ++i) {
        const f16v* r = rows[i];
        float* out = dM + i * 4 * stride + at;
        store(out, r[0]);
        store(out + stride, r[0] + r[1]);
        store(out + 2 * stride, r[0] - r[1]);
        store(out + 3 * stride, -r[1]);
      }
    }
    store(bias_sum + co, load(bias_sum + co) + bias_acc);
  }
}

// dU_sum[point][ci][co] += sum over a run's tiles of V[point][t][ci] dM[point][t][co]: one
// run's sums, then added (per run, then over runs), kRows input channels at a time.
constexpr int kRows = kParts == 1 ? 4 : 3;  // input channels per block (x kChunk sums)

void add_weight_gradient(const float* V, const float* dM, const Geometry& g, Run run,
                         float* dU_sum) {
  const long tiles = run.count;
  for (int point = 0; point < kPoints; ++point)
    for (long ci0 = 0; ci0 < g.CI; ci0 += kRows)
      for (long co0 = 0; co0 < g.CO; co0 += kChunk)
        multiply_block<true>(std::min<long>(kRows, g.CI - ci0), std::min(kChunk, g.CO - co0),
                             {V + point * tiles * g.CI + ci0, 1, g.CI, tiles,
                              dM + point * tiles * g.CO + co0, g.CO,
                              dU_sum + (point * g.CI + ci0) * g.CO + co0, g.CO});
}

// A run's part of dx: B dV B' of each tile, added into its 4x4 patch (an image's dx is
// zeroed at its first tile, which comes before its others).
void scatter_input_gradient(const float* dV, const Geometry& g, Run run, float* dx_batch) {
  const long stride = run.count * g.CI, image = g.H * g.W * g.CI;
  for (long i = 0; i < run.count; ++i) {
    const long b = run.first + i, t = b % g.tiles();
    float* dx = dx_batch + b / g.tiles() * image;
    if (t == 0) std::fill(dx, dx + image, 0.0f);
    const long r0 = 2 * (t / g.tile_cols()) - g.top, c0 = 2 * (t % g.tile_cols()) - g.left;
    for (long ci = 0; ci < g.CI; ci += kTile) {
      f16v e[4][4];
      for (int p = 0; p < 4; ++p) {
        f16v v[4];
        for (int j = 0; j < 4; ++j) v[j] = load(dV + (p * 4 + j) * stride + i * g.CI + ci);
        e[p][0] = v[0];
        e[p][1] = v[1] - v[2] + v[3];
        e[p][2] = v[1] + v[2] - v[0];
        e[p][3] = -v[3];
      }
      for (int j = 0; j < 4; ++j) {
        const f16v column[4] = {e[0][j], e[1][j] - e[2][j] + e[3][j],
                                e[1][j] + e[2][j] - e[0][j], -e[3][j]};
        const long c = c0 + j;
        if (c < 0 || c >= g.W) continue;
        for (int p = 0; p < 4; ++p) {
          const long r = r0 + p;
          if (r < 0 || r >= g.H) continue;
          float* out = dx + (r * g.W + c) * g.CI + ci;
          store(out, load(out) + column[p]);
        }
      }
    }
  }
}

// dV[point][tile][ci] of a run: dM U', block by block.
void input_gradient_points(const float* dM, const float* Ut, const Geometry& g, Run run,
                           float* dV) {
  const long tiles = run.count;
  for (int point = 0; point < kPoints; ++point)
    for (long t0 = 0; t0 < tiles; t0 += kBlock)
      for (long ci0 = 0; ci0 < g.CI; ci0 += kChunk)
        multiply_block(std::min<long>(kBlock, tiles - t0), std::min(kChunk, g.CI - ci0),
                       {dM + (point * tiles + t0) * g.CO, g.CO, 1, g.CO,
                        Ut + point * g.CO * g.CI + ci0, g.CI,
                        dV + (point * tiles + t0) * g.CI + ci0, g.CI});
}

// grad_weight (CO, 3, 3, CI) = G'dUG of each filter's dU.
void weight_gradient(const float* dU, long CI, long CO, float* grad_weight) {
  for (long co = 0; co < CO; ++co)
    for (long ci = 0; ci < CI; ++ci) {
      float u[4][4], half[4][3];
      for (int point = 0; point < kPoints; ++point)
        u[point / 4][point % 4] = dU[(point * CI + ci) * CO + co];
      for (int i = 0; i < 4; ++i) {
        half[i][0] = u[i][0] + 0.5f * (u[i][1] + u[i][2]);
        half[i][1] = 0.5f * (u[i][1] - u[i][2]);
        half[i][2] = 0.5f * (u[i][1] + u[i][2]) + u[i][3];
      }
      for (int kx = 0; kx < 3; ++kx) {
        const float w[3] = {half[0][kx] + 0.5f * (half[1][kx] + half[2][kx]),
                            0.5f * (half[1][kx] - half[2][kx]),
                            0.5f * (half[1][kx] + half[2][kx]) + half[3][kx]};
        for (int ky = 0; ky < 3; ++ky) grad_weight[((co * 3 + ky) * 3 + kx) * CI + ci] = w[ky];
      }
    }
}

}  // namespace

extern "C" {

// `winograd` receives U then Ut (2 * 16 * CI * CO floats), for the backward pass. y is
// (N, OH/2, OW/2, CO) pooled (with which), else (N, OH, OW, CO) (which unused).
int cnnkit_winograd_forward(const float* x, const float* weight, const float* bias,
                            float* winograd, float* y, uint8_t* which, long N, long H, long W,
                            long CI, long CO, long top, long left, long OH, long OW,
                            int pooled, int threads) {
  const Geometry g{N, H, W, CI, CO, top, left, OH, OW, pooled != 0};
  float* U = winograd;
  transform_weights(weight, CI, CO, U, U + kPoints * CI * CO);
  split_images(N, threads, [&](long n0, long n1, long) {
    std::vector<float> V(kPoints * largest_run(g) * CI), M(kPoints * kBlock * kChunk);
    for_runs(g, n0, n1, [&](Run run) {
      forward_run(x, U, bias, g, run, V.data(), M.data(), y, pooled ? which : nullptr);
    });
  });
  return 1;
}

// grad_x may be null (the input needs no gradient).
int cnnkit_winograd_backward(const float* x, const float* winograd, const float* grad_y,
                             const float* y, const uint8_t* which, float* grad_x,
                             float* grad_weight, float* grad_bias, long N, long H, long W,
                             long CI, long CO, long top, long left, long OH, long OW,
                             int pooled, int threads) {
  const Geometry g{N, H, W, CI, CO, top, left, OH, OW, pooled != 0};
  const float* Ut = winograd + kPoints * CI * CO;
  const long size = kPoints * CI * CO + CO;  // dU, then the bias gradient
  const long parts = threads > 1 ? threads : 1;
  std::vector<float> sums(size * parts, 0.0f);
  split_images(N, threads, [&](long n0, long n1, long index) {
    std::vector<float> V(kPoints * largest_run(g) * CI), dM(kPoints * largest_run(g) * CO);
    float* mine = sums.data() + index * size;
    for_runs(g, n0, n1, [&](Run run) {
      transform_input(x, g, run, V.data());
      transform_gradient(y, grad_y, pooled ? which : nullptr, g, run, dM.data(),
                         mine + kPoints * CI * CO);
      add_weight_gradient(V.data(), dM.data(), g, run, mine);
      if (grad_x) {
        input_gradient_points(dM.data(), Ut, g, run, V.data());  // V now holds dV
        scatter_input_gradient(V.data(), g, run, grad_x);
      }
    });
  });
  std::vector<float> total(size);
  sum_parts(sums.data(), parts, size, total.data());
  weight_gradient(total.data(), CI, CO, grad_weight);
  std::copy(total.end() - CO, total.end(), grad_bias);
  return 1;
}

}  // extern "C"
