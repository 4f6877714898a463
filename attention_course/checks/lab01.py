"""Checks for Lab 1: inside a recurrent network.

The student's functions are compared with PyTorch's own cells (``nn.RNNCell``, ``nn.RNN``,
``nn.GRUCell``) with copied weights, which the judges run themselves.
"""

import torch
from torch import nn

from .expect import expect_close, expect_parts, expect_tensor, expect_true, seeded_randn
from .framework import Case, Lab, calls

lab = Lab("01", "Inside a recurrent network")
score = lab.score


def _rnn_cell(input_size, hidden_size, seed):
    torch.manual_seed(seed)
    return nn.RNNCell(input_size, hidden_size)


def _rnn_weights(cell):
    return (
        cell.weight_ih.detach(),
        cell.weight_hh.detach(),
        (cell.bias_ih + cell.bias_hh).detach(),
    )


def _state(shape):
    """A judge: the result is a state h_t of this shape."""
    return lambda result: expect_tensor(result, shape=shape, name="h_t")


def _state_equal_to(reference, shape, hint, atol=1e-5):
    """A judge: the result is a state h_t equal to ``reference()``, computed when judging."""

    def judge(result):
        expect_close(_state(shape)(result), reference(), name="h_t", atol=atol, hint=hint)

    return judge


@lab.check(points=2)
def check_rnn_step():
    cell = _rnn_cell(5, 4, seed=0)
    x, h = seeded_randn(3, 5, seed=1), seeded_randn(3, 4, seed=2)
    weights = _rnn_weights(cell)
    plain = calls(x, h, *weights)
    doubled_state = calls(x, 2 * h, *weights)
    # A large negative pre-activation must give h close to -1 (ReLU would give 0).
    negative = calls(
        3 * torch.ones(1, 5), torch.zeros(1, 4), -torch.eye(4, 5), torch.zeros(4, 4), torch.zeros(4)
    )

    def squashed_by_tanh(result):
        out = _state((1, 4))(result)
        expect_true(
            bool((out < -0.9).all()),
            "for pre-activation -3 the state should be tanh(-3) = -0.995, "
            f"got {out[0, 0].item():.3g}: is the non-linearity tanh?",
        )

    return [
        Case("returns a (batch, hidden) tensor", plain, _state((3, 4))),
        Case(
            "equals nn.RNNCell with the same weights",
            plain,
            _state_equal_to(
                lambda: cell(x, h).detach(),
                (3, 4),
                "h_t = tanh(W_xh x_t + W_hh h_(t-1) + b); rows of x are examples, "
                "so multiply by the transposed weights",
            ),
        ),
        Case("squashes with tanh (negative states allowed)", negative, squashed_by_tanh),
        Case(
            "uses the previous state h_(t-1)",
            doubled_state,
            _state_equal_to(lambda: cell(x, 2 * h).detach(), (3, 4), "h_(t-1) enters through W_hh"),
        ),
    ]


@lab.check(points=2)
def check_encode():
    cell = _rnn_cell(3, 6, seed=2)
    inputs = seeded_randn(2, 7, 3, seed=3)  # (batch, time, input)
    run = calls(cell, inputs)

    def reference():
        rnn = nn.RNN(3, 6, batch_first=True)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(rnn, f"{name}_l0").copy_(getattr(cell, name))
            return rnn(inputs)

    def parts(result):
        states, context = expect_parts(result, "states", "context")
        return (
            expect_tensor(states, shape=(2, 7, 6), name="states"),
            expect_tensor(context, shape=(2, 6), name="context"),
        )

    def states_match(result):
        expect_close(
            parts(result)[0],
            reference()[0],
            name="states",
            hint="start from h_0 = 0 and apply the cell once per time step, in order",
        )

    def context_is_last(result):
        expect_close(
            parts(result)[1],
            reference()[1][0],
            name="context",
            hint="the context vector is c = h_n, the state after the last input",
        )

    return [
        Case("returns (states, context) with the right shapes", run, parts),
        Case("states equal nn.RNN's outputs", run, states_match),
        Case("context is the last state c = h_n", run, context_is_last),
    ]


@lab.check(points=3)
def check_gru_step():
    torch.manual_seed(4)
    cell = nn.GRUCell(5, 3)
    x, h = seeded_randn(4, 5, seed=5), seeded_randn(4, 3, seed=6)
    weights = [p.detach() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    # A huge update-gate bias makes z = 1: the state must pass through unchanged.
    keep_bias = weights[2].clone()
    keep_bias[3:6] = 50.0
    # r = 0 and z = 0: the new state is the candidate n without the old state.
    reset_bias = weights[2].clone()
    reset_bias[0:6] = -50.0
    plain = calls(x, h, *weights)
    keep = calls(x, h, weights[0], weights[1], keep_bias, weights[3])
    reset = calls(x, h, weights[0], weights[1], reset_bias, weights[3])
    return [
        Case("returns a (batch, hidden) tensor", plain, _state((4, 3))),
        Case(
            "equals nn.GRUCell with the same weights",
            plain,
            _state_equal_to(
                lambda: cell(x, h).detach(),
                (4, 3),
                "the stacked weights hold the gates in the order reset, update, new; "
                "h_t = (1 - z) * n + z * h_(t-1)",
            ),
        ),
        Case(
            "z = 1 keeps the old state",
            keep,
            _state_equal_to(
                lambda: h,
                (4, 3),
                "with z = 1 the GRU must keep h_(t-1): is z multiplying the old state?",
                atol=1e-4,
            ),
        ),
        Case(
            "r = 0 drops the old state from the candidate n",
            reset,
            _state_equal_to(
                lambda: torch.tanh(x @ weights[0][6:].T + reset_bias[6:]),
                (4, 3),
                "with r = 0 and z = 0 the new state is tanh(W_in x + b_in): "
                "which slice of the weights is the reset gate?",
                atol=1e-4,
            ),
        ),
    ]


def _reference_state_gradients(cell, inputs):
    states = []
    h = torch.zeros(inputs.shape[1], cell.hidden_size)
    for x_t in inputs:
        h = cell(x_t, h)
        states.append(h)
    grads = torch.autograd.grad(states[-1].sum(), states)
    return torch.stack([g.norm() for g in grads])


@lab.check(points=3)
def check_state_gradient_norms():
    cell = _rnn_cell(4, 8, seed=6)
    inputs = seeded_randn(12, 2, 4, seed=7)  # (time, batch, input)
    run = calls(cell, inputs)

    def norms(result):
        return expect_tensor(result, shape=(12,), name="norms")

    def last_is_all_ones(result):
        got, expected_last = norms(result), (2 * 8) ** 0.5
        expect_true(
            abs(got[-1].item() - expected_last) < 1e-4,
            f"d(h_T.sum())/d h_T is all ones, of norm sqrt(batch * hidden) = "
            f"{expected_last:.4f}; the last norm is {got[-1].item():.4f}",
        )

    def matches_autograd(result):
        expect_close(
            norms(result),
            _reference_state_gradients(cell, inputs),
            name="norms",
            rtol=1e-3,
            hint="keep every h_t in the graph (no detach) and take the "
            "gradient with respect to each state, not the inputs",
        )

    return [
        Case("returns one norm per time step", run, norms),
        Case("the last norm is that of dL/dh_T (all ones)", run, last_is_all_ones),
        Case("equals the gradient norms through time", run, matches_autograd),
    ]
