"""Per-token statistics of the next-token distribution, streamed over the vocabulary.

A full ``[rows, vocab]`` log-softmax is what makes lm-eval run out of memory on a 262k-token
vocabulary. Here the output layer is applied one vocabulary chunk at a time and only running
quantities are kept (online log-sum-exp, as in flash attention): the maximum logit, the sum of
exponentials, the exp-weighted sum of logits (for entropy), the count of logits above the
target's (for rank) and the arg-max. Memory is ``rows x chunk``, whatever the vocabulary.
No library does this streaming reduction, hence the hand-written loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class OutputHead:
    """The model's real output layer: weight, optional bias, optional scaling and soft-capping."""

    weight: torch.Tensor  # [vocab, hidden]
    bias: torch.Tensor | None = None
    scale: float = 1.0  # logits multiplied by this (e.g. Cohere's logit_scale)
    softcap: float | None = None  # logits -> softcap * tanh(logits / softcap) (Gemma 2)

    def logits(self, hidden: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        w = self.weight[start:stop]
        z = hidden @ w.T
        if self.bias is not None:
            z = z + self.bias[start:stop]
        return self.transform(z)

    def transform(self, z: torch.Tensor) -> torch.Tensor:
        if self.scale != 1.0:
            z = z * self.scale
        if self.softcap is not None:
            z = torch.tanh(z / self.softcap) * self.softcap
        return z

    def target_logits(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        z = (hidden * self.weight[targets]).sum(-1)
        if self.bias is not None:
            z = z + self.bias[targets]
        return self.transform(z)


@dataclass(frozen=True)
class TokenStatistics:
    """Statistics per scored position (all tensors of shape [rows])."""

    logprob: torch.Tensor  # log p(target), natural log
    entropy: torch.Tensor  # -sum p log p, nats
    rank: torch.Tensor  # 1 + #{v != target: logit_v > logit_target}
    top1_prob: torch.Tensor  # max_v p(v)
    top1_id: torch.Tensor  # argmax_v p(v)


def _float32_head(head: OutputHead) -> OutputHead:
    if head.weight.dtype == torch.float32:
        return head
    bias = None if head.bias is None else head.bias.float()
    return OutputHead(head.weight.float(), bias, head.scale, head.softcap)


def streamed_statistics(
    hidden: torch.Tensor,
    targets: torch.Tensor,
    head: OutputHead,
    max_elements: int = 1 << 23,
) -> TokenStatistics:
    """Statistics of softmax(head(hidden)) at each row, never holding a full row of logits
    for more than ``max_elements / vocab_chunk`` rows at a time.

    Computed in float32 whatever the model's dtype.

    >>> g = torch.Generator().manual_seed(0)
    >>> h, w = torch.randn(3, 4, generator=g), torch.randn(10, 4, generator=g)
    >>> t = torch.tensor([1, 5, 9])
    >>> s = streamed_statistics(h, t, OutputHead(w), max_elements=6)  # chunks of 2 columns
    >>> ref = torch.log_softmax(h @ w.T, -1)
    >>> bool(torch.allclose(s.logprob, ref[torch.arange(3), t], atol=1e-5))
    True
    >>> bool(torch.allclose(s.entropy, -(ref.exp() * ref).sum(-1), atol=1e-5))
    True
    """
    rows = hidden.shape[0]
    vocab = head.weight.shape[0]
    hidden = hidden.float()
    head = _float32_head(head)
    device = hidden.device
    out_logprob = torch.empty(rows, device=device)
    out_entropy = torch.empty(rows, device=device)
    out_rank = torch.empty(rows, dtype=torch.long, device=device)
    out_top1_prob = torch.empty(rows, device=device)
    out_top1_id = torch.empty(rows, dtype=torch.long, device=device)
    # Row blocks keep `rows x chunk` bounded; the vocabulary chunk is as wide as the budget allows.
    row_block = max(1, min(rows, max_elements // 1024))
    for r0 in range(0, rows, row_block):
        r1 = min(rows, r0 + row_block)
        h = hidden[r0:r1]
        y = targets[r0:r1]
        n = r1 - r0
        chunk = max(1, min(vocab, max_elements // n))
        z_target = head.target_logits(h, y)
        run_max = torch.full((n,), float("-inf"), device=device)
        sum_exp = torch.zeros(n, device=device)
        sum_exp_z = torch.zeros(n, device=device)
        above = torch.zeros(n, dtype=torch.long, device=device)
        best = torch.full((n,), float("-inf"), device=device)
        best_id = torch.zeros(n, dtype=torch.long, device=device)
        exact_target = z_target.clone()
        for c0 in range(0, vocab, chunk):
            c1 = min(vocab, c0 + chunk)
            z = head.logits(h, c0, c1)
            c_max, c_arg = z.max(dim=1)
            better = c_max > best
            best = torch.where(better, c_max, best)
            best_id = torch.where(better, c_arg + c0, best_id)
            new_max = torch.maximum(run_max, c_max)
            rescale = torch.exp(run_max - new_max)
            e = (z - new_max[:, None]).exp_()
            sum_exp = sum_exp * rescale + e.sum(1)
            # (e * z).sum(1), not a batched dot product: torch's pairwise float32 sum keeps the
            # entropy within 1e-4 of float64 over 49k-262k logits; bmm's did not (4e-3 off).
            sum_exp_z = sum_exp_z * rescale + (e * z).sum(1)
            run_max = new_max
            above += (z > z_target[:, None]).sum(1)
            in_chunk = (y >= c0) & (y < c1)
            if bool(in_chunk.any()):
                idx = torch.nonzero(in_chunk).squeeze(1)
                own = z[idx, y[idx] - c0]
                # The target's own column is not counted in its rank: its matmul logit may
                # differ from the row-dot logit in the last bit.
                above[idx] -= (own > z_target[idx]).long()
                # Use the matmul's own value for log p(target), as a full log-softmax would.
                exact_target[idx] = own
        log_z = run_max + torch.log(sum_exp)
        out_logprob[r0:r1] = exact_target - log_z
        out_entropy[r0:r1] = log_z - sum_exp_z / sum_exp
        out_rank[r0:r1] = above + 1
        out_top1_prob[r0:r1] = torch.exp(best - log_z)
        out_top1_id[r0:r1] = best_id
    return TokenStatistics(out_logprob, out_entropy, out_rank, out_top1_prob, out_top1_id)
