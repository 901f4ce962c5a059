"""The demo pack's networks: small, CPU-trainable stand-ins with the real models' interfaces.

- ImageTower / TextTower: a small CLIP (Radford et al. 2021); the text tower pools at the end
  token (the highest id, as CLIP does) and also returns its token hidden states, which the
  decoder cross-attends to (Stable unCLIP's encoder_hidden_states).
- AudioEncoder, MapEncoder (depth, thermal), ImuEncoder: ImageBind's other modalities
  (Girdhar et al. 2023), bound to the frozen image tower.
- AutoEncoder: 64x64 RGB <-> latents [4, 16, 16] (the VAE's role in Stable Diffusion).
- UNet: a latent diffusion UNet with Stable unCLIP's forward signature
  (sample, timestep, encoder_hidden_states, class_labels).
- Prior: a DALLE-2 style diffusion prior (Ramesh et al. 2022, sec. 2.1) predicting the clean
  image embedding x0 from a noised one, a timestep and a query embedding. An MLP rather than
  DALLE-2's transformer: one query vector needs no sequence model.
Encoders return raw embeddings; normalisation and scaling are the manifest's postprocess.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

EMBED_DIM = 128


def conv_bn(cin: int, cout: int, k: int = 3, s: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2 if k % 2 else 0, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PooledHead(nn.Module):
    """Global average + max pooling, then an MLP to the embedding."""

    def __init__(self, cin: int, dim: int = EMBED_DIM):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * cin, 256), nn.ReLU(inplace=True), nn.Linear(256, dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, h.dim()))
        return self.mlp(torch.cat([h.mean(dim=dims), h.amax(dim=dims)], dim=1))


class ImageTower(nn.Module):
    """[B, 3, 64, 64] normalised RGB -> [B, D]. A 2x2 patchifying stem, then capacity at low resolution."""

    def __init__(self, dim: int = EMBED_DIM, width: int = 32):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            conv_bn(3, w, 2, 2),            # 32
            conv_bn(w, w, 3, 1),
            conv_bn(w, 2 * w, 3, 2),        # 16
            conv_bn(2 * w, 2 * w, 3, 1),
            conv_bn(2 * w, 4 * w, 3, 2),    # 8
            conv_bn(4 * w, 4 * w, 3, 1),
        )
        self.head = PooledHead(4 * w, dim)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(pixel_values))


class MapEncoder(nn.Module):
    """Depth or thermal: [B, 1, 64, 64] -> [B, D]."""

    def __init__(self, dim: int = EMBED_DIM, width: int = 24):
        super().__init__()
        w = width
        self.body = nn.Sequential(conv_bn(1, w, 2, 2), conv_bn(w, 2 * w, 3, 2), conv_bn(2 * w, 2 * w, 3, 1),
                                  conv_bn(2 * w, 4 * w, 3, 2))
        self.head = PooledHead(4 * w, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class AudioEncoder(nn.Module):
    """[B, 1, 128, 204] normalised log-mel fbank (one 2 s clip) -> [B, D].
    A 4x4 patchifying stem (as AST/ImageBind patchify spectrograms), then 3x3 convolutions."""

    def __init__(self, dim: int = EMBED_DIM, width: int = 32):
        super().__init__()
        w = width
        self.body = nn.Sequential(conv_bn(1, w, 4, 4), conv_bn(w, 2 * w, 3, 2), conv_bn(2 * w, 2 * w, 3, 1),
                                  conv_bn(2 * w, 4 * w, 3, 2))
        self.head = PooledHead(4 * w, dim)

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(fbank))


class ImuEncoder(nn.Module):
    """[B, 6, 2000] accelerometer (g) + gyroscope (deg/s) -> [B, D]."""

    def __init__(self, dim: int = EMBED_DIM):
        super().__init__()
        def block(cin: int, cout: int, k: int, s: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv1d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm1d(cout), nn.ReLU(inplace=True))
        self.inorm = nn.BatchNorm1d(6)
        self.body = nn.Sequential(block(6, 32, 9, 4), block(32, 64, 7, 4), block(64, 128, 5, 2), block(128, 128, 5, 2))
        self.head = PooledHead(128, dim)

    def forward(self, imu: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.inorm(imu)))


class TextTower(nn.Module):
    """int64 [B, 77] token ids -> ([B, D] pooled at the end token, [B, 77, W] hidden states)."""

    def __init__(self, vocab_size: int, dim: int = EMBED_DIM, width: int = 128, layers: int = 3, heads: int = 4, context: int = 77):
        super().__init__()
        self.token = nn.Embedding(vocab_size, width)
        self.position = nn.Parameter(torch.randn(context, width) * 0.01)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim, bias=False)
        self.register_buffer("causal", torch.full((context, context), float("-inf")).triu(1), persistent=False)

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Causal attention: the pooled end token depends only on the tokens before it, so
        # training may pass fewer than 77 positions; export always uses the full context.
        n = input_ids.shape[1]
        h = self.token(input_ids) + self.position[:n]
        h = self.transformer(h, mask=self.causal[:n, :n])
        h = self.final_norm(h)
        end = input_ids.argmax(dim=-1)  # CLIP pools at the end token, the highest id
        pooled = h[torch.arange(h.shape[0]), end]
        return self.proj(pooled), h


# ---------------------------------------------------------------- autoencoder

class AutoEncoder(nn.Module):
    """64x64 RGB in [-1, 1] <-> latents [4, 16, 16]. A patchifying stem and upsample + conv;
    capacity at low resolution (full-resolution layers dominate the cost on a CPU)."""

    def __init__(self, latent_channels: int = 4):
        super().__init__()
        act = nn.SiLU
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 32, 2, 2), act(), nn.Conv2d(32, 48, 3, 1, 1), act(),     # 32
            nn.Conv2d(48, 96, 3, 2, 1), act(), nn.Conv2d(96, 96, 3, 1, 1), act(),  # 16
            nn.Conv2d(96, latent_channels, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, 96, 3, 1, 1), act(), nn.Conv2d(96, 96, 3, 1, 1), act(),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(96, 48, 3, 1, 1), act(),   # 32
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(48, 16, 3, 1, 1), act(),    # 64
            nn.Conv2d(16, 3, 3, 1, 1), nn.Tanh())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


class VaeDecoder(nn.Module):
    """ONNX wrapper: latent (already divided by the scaling factor) -> image in [-1, 1]."""

    def __init__(self, ae: AutoEncoder):
        super().__init__()
        self.decoder = ae.decoder

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.decoder(latent)


# ---------------------------------------------------------------- diffusion

def timestep_embedding(t: torch.Tensor, dim: int, flip_sin_to_cos: bool = True, downscale_freq_shift: float = 0.0, max_period: float = 10000.0) -> torch.Tensor:
    """diffusers' get_timestep_embedding (embeddings.py): exponents -ln(P) * i / (half - shift)."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / (half - downscale_freq_shift)
    args = t.float()[:, None] * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    return emb


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, conditioned by scale-shift of the second norm (Dhariwal & Nichol 2021)."""

    def __init__(self, cin: int, cout: int, emb: int):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.e = nn.Linear(emb, 2 * cout)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.e(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(F.silu(h))
        return self.skip(x) + h


class Attention(nn.Module):
    """Self-attention over pixels, optionally followed by cross-attention to a context."""

    def __init__(self, ch: int, context_dim: int | None, heads: int = 4):
        super().__init__()
        self.norm = nn.GroupNorm(8, ch)
        self.self_attn = nn.MultiheadAttention(ch, heads, batch_first=True)
        self.cross = context_dim is not None
        if self.cross:
            self.norm2 = nn.LayerNorm(ch)
            self.cross_attn = nn.MultiheadAttention(ch, heads, kdim=context_dim, vdim=context_dim, batch_first=True)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        b, c, hh, ww = x.shape
        h = self.norm(x).flatten(2).transpose(1, 2)
        h = h + self.self_attn(h, h, h, need_weights=False)[0]
        if self.cross and context is not None:
            q = self.norm2(h)
            h = h + self.cross_attn(q, context, context, need_weights=False)[0]
        return x + h.transpose(1, 2).reshape(b, c, hh, ww)


class UNet(nn.Module):
    """Latent UNet: sample [B, 4, 16, 16], timestep [B], encoder_hidden_states [B, 77, W],
    class_labels [B, 2D] (noised image embedding ; noise-level embedding) -> [B, 4, 16, 16]."""

    def __init__(self, latent_channels: int = 4, class_dim: int = 2 * EMBED_DIM, context_dim: int = 128, ch: tuple[int, int, int] = (48, 96, 192), emb: int = 256):
        super().__init__()
        c1, c2, c3 = ch
        self.emb_dim = emb
        self.time_mlp = nn.Sequential(nn.Linear(c1, emb), nn.SiLU(), nn.Linear(emb, emb))
        # Stable unCLIP's class_embed_type "projection": class_labels -> linear -> added to temb
        self.class_mlp = nn.Sequential(nn.Linear(class_dim, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.conv_in = nn.Conv2d(latent_channels, c1, 3, 1, 1)
        self.d1 = ResBlock(c1, c1, emb)
        self.down1 = nn.Conv2d(c1, c1, 3, 2, 1)  # 16 -> 8
        self.d2 = ResBlock(c1, c2, emb)
        self.down2 = nn.Conv2d(c2, c2, 3, 2, 1)  # 8 -> 4
        self.d3 = ResBlock(c2, c3, emb)
        self.m1 = ResBlock(c3, c3, emb)
        self.ma = Attention(c3, context_dim)
        self.m2 = ResBlock(c3, c3, emb)
        self.u3 = ResBlock(c3 + c3, c3, emb)
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")  # 4 -> 8
        self.u2 = ResBlock(c3 + c2, c2, emb)
        self.up1 = nn.Upsample(scale_factor=2, mode="nearest")  # 8 -> 16
        self.u1 = ResBlock(c2 + c1, c1, emb)
        self.out = nn.Sequential(nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, latent_channels, 3, 1, 1))
        self.time_channels = c1

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor, class_labels: torch.Tensor) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(timestep, self.time_channels)) + self.class_mlp(class_labels)
        h0 = self.conv_in(sample)
        h1 = self.d1(h0, emb)
        h2 = self.d2(self.down1(h1), emb)
        h3 = self.d3(self.down2(h2), emb)
        m = self.m2(self.ma(self.m1(h3, emb), encoder_hidden_states), emb)
        u = self.u3(torch.cat([m, h3], 1), emb)
        u = self.u2(torch.cat([self.up2(u), h2], 1), emb)
        u = self.u1(torch.cat([self.up1(u), h1], 1), emb)
        return self.out(u)


class Prior(nn.Module):
    """DALLE-2 style prior: (x_t [B, D] normalised image embedding, timestep [B], condition [B, D]
    unit query embedding, zeros for unconditional) -> predicted x0 [B, D]."""

    def __init__(self, dim: int = EMBED_DIM, width: int = 384, blocks: int = 4):
        super().__init__()
        self.dim = dim
        self.inp = nn.Linear(3 * dim, width)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 2 * width), nn.SiLU(), nn.Linear(2 * width, width)) for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, dim))

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = self.inp(torch.cat([sample, condition, timestep_embedding(timestep, self.dim)], dim=-1))
        for blk in self.blocks:
            h = h + blk(h)
        return self.out(h)
