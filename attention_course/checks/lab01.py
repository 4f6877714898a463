"""Checks for Lab 1: inside a recurrent network.

Each check builds its own inputs, runs the student's function, and compares with
PyTorch's own cells (``nn.RNNCell``, ``nn.RNN``, ``nn.GRUCell``) with copied weights.
"""

import torch
from torch import nn

from . import core
from .core import call, lab_check
from .expect import expect_close, expect_parts, expect_tensor, expect_true

LAB = "01"


def _generator(seed):
    return torch.Generator().manual_seed(seed)


def _rnn_cell(input_size, hidden_size, seed):
    torch.manual_seed(seed)
    return nn.RNNCell(input_size, hidden_size)


@lab_check(LAB, points=2)
def check_rnn_step(rnn_step):
    cell = _rnn_cell(5, 4, seed=0)
    g = _generator(1)
    x, h = torch.randn(3, 5, generator=g), torch.randn(3, 4, generator=g)
    weights = (
        cell.weight_ih.detach(),
        cell.weight_hh.detach(),
        (cell.bias_ih + cell.bias_hh).detach(),
    )

    def returns_batch_by_hidden_tensor():
        """returns a (batch, hidden) tensor"""
        expect_tensor(call(rnn_step, x, h, *weights), shape=(3, 4), name="h_t")

    def matches_torch_rnn_cell():
        """equals nn.RNNCell with the same weights"""
        expected = cell(x, h).detach()
        expect_close(
            call(rnn_step, x, h, *weights),
            expected,
            name="h_t",
            hint="h_t = tanh(W_xh x_t + W_hh h_(t-1) + b); rows of x are examples, "
            "so multiply by the transposed weights",
        )

    def can_be_negative_like_tanh():
        """squashes with tanh (negative states allowed)"""
        # A large negative pre-activation must give h close to -1 (ReLU would give 0).
        W_xh = -torch.eye(4, 5)
        out = expect_tensor(
            call(
                rnn_step,
                torch.ones(1, 5) * 3,
                torch.zeros(1, 4),
                W_xh,
                torch.zeros(4, 4),
                torch.zeros(4),
            ),
            shape=(1, 4),
            name="h_t",
        )
        expect_true(
            bool((out < -0.9).all()),
            f"for pre-activation -3 the state should be tanh(-3) = -0.995, "
            f"got {out[0, 0].item():.3g}: is the non-linearity tanh?",
        )

    def uses_the_previous_state():
        """uses the previous state h_(t-1)"""
        expected = cell(x, 2 * h).detach()
        expect_close(
            call(rnn_step, x, 2 * h, *weights),
            expected,
            name="h_t",
            hint="h_(t-1) enters through W_hh",
        )

    return [
        returns_batch_by_hidden_tensor,
        matches_torch_rnn_cell,
        can_be_negative_like_tanh,
        uses_the_previous_state,
    ]


@lab_check(LAB, points=2)
def check_encode(encode):
    cell = _rnn_cell(3, 6, seed=2)
    inputs = torch.randn(2, 7, 3, generator=_generator(3))  # (batch, time, input)
    reference = nn.RNN(3, 6, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, f"{name}_l0").copy_(getattr(cell, name))
        expected_states, expected_last = reference(inputs)

    def returns_states_and_context():
        """returns (states, context) with the right shapes"""
        result = call(encode, cell, inputs)
        expect_parts(result, "states", "context")
        expect_tensor(result[0], shape=(2, 7, 6), name="states")
        expect_tensor(result[1], shape=(2, 6), name="context")

    def states_match_torch_rnn():
        """states equal nn.RNN's outputs"""
        states, _ = call(encode, cell, inputs)
        expect_close(
            states,
            expected_states,
            name="states",
            hint="start from h_0 = 0 and apply the cell once per time step, in order",
        )

    def context_is_the_last_state():
        """context is the last state c = h_n"""
        _, context = call(encode, cell, inputs)
        expect_close(
            context,
            expected_last[0],
            name="context",
            hint="the context vector is c = h_n, the state after the last input",
        )

    return [returns_states_and_context, states_match_torch_rnn, context_is_the_last_state]


@lab_check(LAB, points=3)
def check_gru_step(gru_step):
    torch.manual_seed(4)
    cell = nn.GRUCell(5, 3)
    g = _generator(5)
    x, h = torch.randn(4, 5, generator=g), torch.randn(4, 3, generator=g)
    weights = [p.detach() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]

    def returns_batch_by_hidden_tensor():
        """returns a (batch, hidden) tensor"""
        expect_tensor(call(gru_step, x, h, *weights), shape=(4, 3), name="h_t")

    def matches_torch_gru_cell():
        """equals nn.GRUCell with the same weights"""
        expect_close(
            call(gru_step, x, h, *weights),
            cell(x, h).detach(),
            name="h_t",
            hint="the stacked weights hold the gates in the order reset, update, new; "
            "h_t = (1 - z) * n + z * h_(t-1)",
        )

    def update_gate_near_one_keeps_the_old_state():
        """z = 1 keeps the old state"""
        # A huge update-gate bias makes z = 1: the state must pass through unchanged.
        bias_ih = weights[2].clone()
        bias_ih[3:6] = 50.0
        got = call(gru_step, x, h, weights[0], weights[1], bias_ih, weights[3])
        expect_close(
            got,
            h,
            name="h_t",
            atol=1e-4,
            hint="with z = 1 the GRU must keep h_(t-1): is z multiplying the old state?",
        )

    def reset_gate_near_zero_ignores_the_old_state_in_n():
        """r = 0 drops the old state from the candidate n"""
        bias_ih = weights[2].clone()
        bias_ih[0:3] = -50.0  # r = 0
        bias_ih[3:6] = -50.0  # z = 0, so h_t = n
        got = call(gru_step, x, h, weights[0], weights[1], bias_ih, weights[3])
        n = torch.tanh(x @ weights[0][6:].T + bias_ih[6:])
        expect_close(
            got,
            n,
            name="h_t",
            atol=1e-4,
            hint="with r = 0 and z = 0 the new state is tanh(W_in x + b_in): "
            "which slice of the weights is the reset gate?",
        )

    return [
        returns_batch_by_hidden_tensor,
        matches_torch_gru_cell,
        update_gate_near_one_keeps_the_old_state,
        reset_gate_near_zero_ignores_the_old_state_in_n,
    ]


def _reference_state_gradients(cell, inputs):
    states = []
    h = torch.zeros(inputs.shape[1], cell.hidden_size)
    for x_t in inputs:
        h = cell(x_t, h)
        states.append(h)
    grads = torch.autograd.grad(states[-1].sum(), states)
    return torch.stack([g.norm() for g in grads])


@lab_check(LAB, points=3)
def check_state_gradient_norms(state_gradient_norms):
    cell = _rnn_cell(4, 8, seed=6)
    inputs = torch.randn(12, 2, 4, generator=_generator(7))  # (time, batch, input)
    expected = _reference_state_gradients(cell, inputs).detach()

    def returns_one_norm_per_step():
        """returns one norm per time step"""
        expect_tensor(call(state_gradient_norms, cell, inputs), shape=(12,), name="norms")

    def last_norm_is_that_of_a_tensor_of_ones():
        """the last norm is that of dL/dh_T (all ones)"""
        got = expect_tensor(call(state_gradient_norms, cell, inputs), shape=(12,), name="norms")
        expected_last = (2 * 8) ** 0.5
        expect_true(
            abs(got[-1].item() - expected_last) < 1e-4,
            f"d(h_T.sum())/d h_T is all ones, of norm sqrt(batch * hidden) = "
            f"{expected_last:.4f}; the last norm is {got[-1].item():.4f}",
        )

    def matches_autograd_through_time():
        """equals the gradient norms through time"""
        expect_close(
            call(state_gradient_norms, cell, inputs),
            expected,
            name="norms",
            rtol=1e-3,
            hint="keep every h_t in the graph (no detach) and take the "
            "gradient with respect to each state, not the inputs",
        )

    return [
        returns_one_norm_per_step,
        last_norm_is_that_of_a_tensor_of_ones,
        matches_autograd_through_time,
    ]


def score():
    """Print this lab's score table; returns (earned, maximum)."""
    return core.score(LAB)


def results():
    return core.results(LAB)
