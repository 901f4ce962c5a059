"""The diffusion maths the recipe trains and samples with, after diffusers' formulas
(huggingface/diffusers schedulers: scheduling_ddpm.py, scheduling_ddim.py,
scheduling_euler_discrete.py), with constants from the manifest's scheduler objects.
These are the PyTorch reference samplers the TypeScript parity tests reproduce.
"""
from __future__ import annotations

import math

import numpy as np
import torch


def betas_for(cfg: dict) -> torch.Tensor:
    n = cfg["numTrainTimesteps"]
    kind = cfg["betaSchedule"]
    if kind == "linear":
        return torch.linspace(cfg["betaStart"], cfg["betaEnd"], n, dtype=torch.float32)
    if kind == "scaled_linear":  # Stable Diffusion's: linear in sqrt(beta)
        return torch.linspace(cfg["betaStart"] ** 0.5, cfg["betaEnd"] ** 0.5, n, dtype=torch.float32) ** 2
    if kind == "squaredcos_cap_v2":  # Nichol & Dhariwal 2021, eq. 17; betas capped at 0.999
        def alpha_bar(t: float) -> float:
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        return torch.tensor([min(1 - alpha_bar((i + 1) / n) / alpha_bar(i / n), 0.999) for i in range(n)], dtype=torch.float32)
    raise ValueError(f"unsupported betaSchedule {kind}")


def alphas_cumprod(cfg: dict) -> torch.Tensor:
    return torch.cumprod(1.0 - betas_for(cfg), dim=0)


def add_noise(ac: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """q(x_t | x_0) = sqrt(ac_t) x0 + sqrt(1 - ac_t) eps (Ho et al. 2020, eq. 4)."""
    a = ac[t].view(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def v_target(ac: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """v = sqrt(ac) eps - sqrt(1 - ac) x0 (Salimans & Ho 2022, sec. 4)."""
    a = ac[t].view(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt() * noise - (1 - a).sqrt() * x0


def timesteps_for(cfg: dict, steps: int) -> np.ndarray:
    n = cfg["numTrainTimesteps"]
    spacing = cfg.get("timestepSpacing", "leading")
    if spacing == "leading":
        ratio = n // steps
        ts = (np.arange(0, steps) * ratio).round()[::-1].copy().astype(np.int64) + cfg.get("stepsOffset", 0)
    elif spacing == "trailing":
        ratio = n / steps
        ts = np.round(np.arange(n, 0, -ratio)).astype(np.int64) - 1
    elif spacing == "linspace":
        ts = np.linspace(0, n - 1, steps).round()[::-1].copy().astype(np.int64)
    else:
        raise ValueError(f"unsupported timestepSpacing {spacing}")
    return ts


def predict_x0_eps(cfg: dict, model_output: torch.Tensor, sample: torch.Tensor, a_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    kind = cfg["predictionType"]
    if kind == "epsilon":
        eps = model_output
        x0 = (sample - (1 - a_t).sqrt() * eps) / a_t.sqrt()
    elif kind == "sample":
        x0 = model_output
        eps = (sample - a_t.sqrt() * x0) / (1 - a_t).sqrt()
    elif kind == "v_prediction":
        x0 = a_t.sqrt() * sample - (1 - a_t).sqrt() * model_output
        eps = a_t.sqrt() * model_output + (1 - a_t).sqrt() * sample
    else:
        raise ValueError(f"unsupported predictionType {kind}")
    return x0, eps


class Ddim:
    """DDIM with eta 0 (Song et al. 2021, eq. 12), diffusers' scheduling_ddim.py step."""

    def __init__(self, cfg: dict, steps: int):
        self.cfg = cfg
        self.ac = alphas_cumprod(cfg)
        self.final_ac = torch.tensor(1.0) if cfg.get("setAlphaToOne", True) else self.ac[0]
        self.timesteps = timesteps_for(cfg, steps)
        self.ratio = cfg["numTrainTimesteps"] // steps
        self.init_noise_sigma = 1.0

    def scale_model_input(self, sample: torch.Tensor, t: int) -> torch.Tensor:
        return sample

    def step(self, model_output: torch.Tensor, t: int, sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        prev_t = t - self.ratio                                   # 1. previous timestep
        a_t = self.ac[t]                                          # 2. alphas
        a_prev = self.ac[prev_t] if prev_t >= 0 else self.final_ac
        x0, eps = predict_x0_eps(self.cfg, model_output, sample, a_t)  # 3. predicted x0
        if self.cfg.get("clipSample", False):
            x0 = x0.clamp(-self.cfg.get("clipSampleRange", 1.0), self.cfg.get("clipSampleRange", 1.0))
            eps = (sample - a_t.sqrt() * x0) / (1 - a_t).sqrt()
        prev = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps      # 4. eq. 12 with sigma 0
        return prev, x0


class EulerDiscrete:
    """Euler (Karras et al. 2022, Algorithm 2 without churn), diffusers' scheduling_euler_discrete.py."""

    def __init__(self, cfg: dict, steps: int):
        self.cfg = cfg
        ac = alphas_cumprod(cfg).numpy().astype(np.float64)
        sigmas = ((1 - ac) / ac) ** 0.5
        n = cfg["numTrainTimesteps"]
        spacing = cfg.get("timestepSpacing", "leading")
        if spacing == "leading":
            ratio = n // steps
            ts = (np.arange(0, steps) * ratio).round()[::-1].copy().astype(np.float32) + cfg.get("stepsOffset", 0)
        elif spacing == "trailing":
            ts = (np.arange(n, 0, -n / steps)).round().copy().astype(np.float32) - 1
        else:
            ts = np.linspace(0, n - 1, steps, dtype=np.float64)[::-1].copy().astype(np.float32)
        sig = np.interp(ts, np.arange(0, len(sigmas)), sigmas)
        self.sigmas = np.concatenate([sig, [0.0]]).astype(np.float32)
        self.timesteps = ts
        max_sigma = float(self.sigmas.max())
        self.init_noise_sigma = max_sigma if spacing in ("linspace", "trailing") else (max_sigma ** 2 + 1) ** 0.5
        self.index = 0

    def scale_model_input(self, sample: torch.Tensor, t: float) -> torch.Tensor:
        sigma = float(self.sigmas[self.index])
        return sample / ((sigma ** 2 + 1) ** 0.5)

    def step(self, model_output: torch.Tensor, t: float, sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sigma = float(self.sigmas[self.index])
        kind = self.cfg["predictionType"]
        if kind == "epsilon":
            x0 = sample - sigma * model_output
        elif kind == "v_prediction":  # c_out = -sigma / sqrt(sigma^2 + 1), c_skip = 1 / (sigma^2 + 1)
            x0 = model_output * (-sigma / (sigma ** 2 + 1) ** 0.5) + sample / (sigma ** 2 + 1)
        elif kind == "sample":
            x0 = model_output
        else:
            raise ValueError(kind)
        derivative = (sample - x0) / sigma                          # Karras eq. 7: dx/dsigma
        dt = float(self.sigmas[self.index + 1]) - sigma
        self.index += 1
        return sample + derivative * dt, x0


def make_scheduler(name: str, cfg: dict, steps: int):
    if name == "ddim":
        return Ddim(cfg, steps)
    if name == "euler":
        return EulerDiscrete(cfg, steps)
    raise ValueError(f"unsupported scheduler {name}")
