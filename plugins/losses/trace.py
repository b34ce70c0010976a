"""TraceGrad's trace loss: predicted vs true sub-block traces, auto-balanced to the H loss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

import torch
from pydantic import Field

from hamkit.components import ComponentConfig, Loss
from hamkit.data.graph_fields import stage_traces_key
from hamkit.errors import HamkitError
from hamkit.physics.traces import TraceNormalization, normalize_padded_traces
from hamkit_plugins.losses.elementwise import MASK_KEY, PREDICTION_KEY, masked_mean

STAGES = ("node", "pair")


class TraceLossConfig(ComponentConfig):
    """Options of the ``trace`` loss."""

    kind: Literal["l1", "mse"] = Field("l1", description="L1 (as the authors' code) or MSE on traces.")
    normalization: TraceNormalization = Field(
        "layer_norm",
        description="Label normalization across the sub-blocks of each block: none, "
        "layer_norm (parameter-free, the authors' choice) or log.",
    )
    balance: Literal["auto", "none"] = Field(
        "auto",
        description="auto: the term is sg(L_H / L_T) * L_T, so the recipe weight is lambda "
        "relative to the H loss; none: plain L_T.",
    )
    reference: Literal["h_mse", "h_mae"] = Field(
        "h_mse", description="The H loss L_H that auto balance scales to."
    )


class TraceLoss(Loss):
    """TraceGrad trace supervision: L1/MSE on normalized tr(B B^T) labels, auto-balanced."""

    name: ClassVar[str] = "trace"
    Config: ClassVar[type[ComponentConfig]] = TraceLossConfig

    def __init__(self, config: TraceLossConfig) -> None:
        super().__init__()
        self.config = config

    def _trace_error(self, prediction: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> torch.Tensor:
        total, count = None, 0.0
        for stage in STAGES:
            key = stage_traces_key(stage)
            if key not in prediction:
                continue
            labels, mask = target[f"{stage}_trace"], target[f"{stage}_trace_mask"]
            predicted = prediction[key]
            if predicted.shape != labels.shape:
                raise HamkitError(
                    f"loss 'trace': predicted {stage} traces have shape {tuple(predicted.shape)}, "
                    f"labels {tuple(labels.shape)}; let the encoder take num_traces from the data"
                )
            residual = (predicted - normalize_padded_traces(labels, mask, self.config.normalization)) * mask
            error = residual.abs() if self.config.kind == "l1" else residual.square()
            total = error.sum() if total is None else total + error.sum()
            count += float(mask.sum())
        if total is None:
            raise HamkitError(
                "loss 'trace' needs predicted traces: add an invariant encoder "
                "(model.invariant_encoder: {name: trace_mlp}) to the recipe"
            )
        return total / max(count, 1.0)

    def forward(self, prediction, target):
        trace_error = self._trace_error(prediction, target)
        if self.config.balance == "none":
            return trace_error
        residual = prediction[PREDICTION_KEY] - target[PREDICTION_KEY]
        h_error = residual.square() if self.config.reference == "h_mse" else residual.abs()
        reference = masked_mean(h_error, target.get(MASK_KEY))
        return (reference / trace_error.clamp_min(1e-30)).detach() * trace_error
