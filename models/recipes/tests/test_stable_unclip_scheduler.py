"""The Stable unCLIP export writes the pipeline's own scheduler as the pack's default:
stable-diffusion-2-1-unclip's PNDM (v-prediction, scaled_linear, steps_offset 1,
skip_prk_steps) as `pndm` with those settings, never silently another scheduler. Run from
models/recipes: nice -n 19 python3 -m unittest discover -s tests -p 'test_stable_unclip_scheduler.py' -v"""
from __future__ import annotations

import sys
import unittest
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RECIPES))

from export_stable_unclip import scheduler_name_of  # noqa: E402
from stable_unclip_pipeline import scheduler_section  # noqa: E402

# stabilityai/stable-diffusion-2-1-unclip scheduler/scheduler_config.json, as from_pretrained resolves it
UNCLIP_SCHEDULER = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
                    "beta_schedule": "scaled_linear", "trained_betas": None, "skip_prk_steps": True,
                    "set_alpha_to_one": False, "prediction_type": "v_prediction", "timestep_spacing": "leading",
                    "steps_offset": 1, "clip_sample": False}


def scheduler(kind: str, config: dict):
    """A stand-in of a diffusers scheduler: the export reads its class name and its config."""
    return type(kind, (), {"config": dict(config)})()


class SchedulerOfThePack(unittest.TestCase):
    def test_stable_unclip_pndm_is_written_as_pndm_with_its_settings(self):
        self.assertEqual(scheduler_name_of(scheduler("PNDMScheduler", UNCLIP_SCHEDULER)), "pndm")
        self.assertEqual(scheduler_section(UNCLIP_SCHEDULER), {
            "numTrainTimesteps": 1000, "betaSchedule": "scaled_linear", "betaStart": 0.00085, "betaEnd": 0.012,
            "predictionType": "v_prediction", "timestepSpacing": "leading", "stepsOffset": 1,
            "clipSample": False, "setAlphaToOne": False})

    def test_pndm_with_runge_kutta_steps_is_refused(self):
        with self.assertRaises(SystemExit):
            scheduler_name_of(scheduler("PNDMScheduler", {**UNCLIP_SCHEDULER, "skip_prk_steps": False}))

    def test_a_scheduler_without_a_sampler_is_refused_not_written_as_ddim(self):
        with self.assertRaises(SystemExit):
            scheduler_name_of(scheduler("LMSDiscreteScheduler", UNCLIP_SCHEDULER))
        self.assertEqual(scheduler_name_of(scheduler("DDIMScheduler", UNCLIP_SCHEDULER)), "ddim")


if __name__ == "__main__":
    unittest.main()
