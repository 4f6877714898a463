"""Checks for Lab 1: inside a recurrent network, and its bottleneck.

The student's functions are compared with PyTorch's own cells and layers (``nn.GRUCell``,
``nn.RNN``) with copied weights, and with autograd, which the judges run themselves. The
experiment's recall is compared with a least-squares readout the judge fits itself on the
same sequences; its shape (4 symbols fit in the state, 16 do not, a wider state keeps
more) is judged on the student's own numbers.
"""

import copy

import numpy as np
import torch
from torch import nn

from .calling import CaseFailed
from .expect import (
    Mistake,
    expect_answer,
    expect_array,
    expect_close,
    expect_parts,
    expect_tensor,
    expect_true,
    named_mistake,
    seeded_generator,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("01", "Inside a recurrent network")
score = lab.score


def _seeded(make, seed):
    """A module made from its own seed, leaving the global random stream as it was (the
    check's body runs in the student's kernel)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def _rnn_cell(input_size, hidden_size, seed):
    return _seeded(lambda: nn.RNNCell(input_size, hidden_size), seed)


def _state(shape, name="h_t"):
    """A judge: the result is a finite state tensor of this shape."""
    return lambda result: expect_tensor(result, shape=shape, name=name)


# ---------------------------------------------------------------- exercise 1: GRU step

# What would do the exercise for the student: PyTorch's GRU, as a module or a function.
GRU_SHORTCUTS = (
    "torch.gru_cell",
    "torch._VF.gru_cell",
    "torch.nn.GRUCell.forward",
    "torch.nn.GRU.forward",
)


def _gru(x, h, w_ih, w_hh, b_ih, b_hh, mix_swapped=False, reset_outside=False, gates_swapped=False):
    """A GRU step from the equations, or with one plausible mistake (for the messages)."""
    x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    if gates_swapped:
        x_r, x_z, h_r, h_z = x_z, x_r, h_z, h_r
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(r * (x_n + h_n)) if reset_outside else torch.tanh(x_n + r * h_n)
    return z * n + (1 - z) * h if mix_swapped else (1 - z) * n + z * h


def _gru_mistakes(x, h, weights):
    return [
        Mistake(
            "z and 1 - z are swapped in the mix: h_t = (1 - z) * n + z * h_(t-1)",
            lambda: _gru(x, h, *weights, mix_swapped=True),
        ),
        Mistake(
            "the reset gate multiplies only the hidden part, W_hn h + b_hn, "
            "not the input part as well",
            lambda: _gru(x, h, *weights, reset_outside=True),
        ),
        Mistake(
            "the stacked weights hold the gates in the order reset, update, new: "
            "the first third is r, the second z",
            lambda: _gru(x, h, *weights, gates_swapped=True),
        ),
    ]


@lab.check(points=3, forbid=GRU_SHORTCUTS)
def check_gru_step():
    cell = _seeded(lambda: nn.GRUCell(5, 3), seed=4)
    x, h = seeded_randn(4, 5, seed=5), seeded_randn(4, 3, seed=6)
    weights = [p.detach() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    # A huge update-gate bias makes z = 1: the state must pass through unchanged.
    keep_bias = weights[2].clone()
    keep_bias[3:6] = 50.0
    # r = 0 and z = 0: the new state is the candidate n without the old state.
    reset_bias = weights[2].clone()
    reset_bias[0:6] = -50.0
    # Pre-activations near ±1000: every gate saturates, nothing may overflow to NaN.
    loud_x = seeded_randn(4, 5, seed=7, scale=1000.0)
    plain = calls(x, h, *weights)
    keep = calls(x, h, weights[0], weights[1], keep_bias, weights[3])
    reset = calls(x, h, weights[0], weights[1], reset_bias, weights[3])
    one_row = calls(x[2:3], h[2:3], *weights)
    in_float64 = calls(x.double(), h.double(), *[w.double() for w in weights])
    loud = calls(loud_x, h, *weights)

    def like_the_cell(inputs, shape):
        def judge(result):
            got = _state(shape)(result)
            in_float64 = inputs[0].dtype == torch.float64
            reference = copy.deepcopy(cell).double() if in_float64 else cell
            dtype_weights = [w.to(inputs[0].dtype) for w in weights]
            expect_close(
                got,
                reference(*inputs).detach(),
                name="h_t",
                mistakes=_gru_mistakes(*inputs, dtype_weights),
                hint="the stacked weights hold the gates in the order reset, update, new; "
                "h_t = (1 - z) * n + z * h_(t-1)",
            )

        return judge

    def saturates_without_nan(result):
        if isinstance(result, torch.Tensor) and result.is_floating_point():
            expect_true(
                not result.isnan().any(),
                "h_t contains NaN for pre-activations near ±1000: a tanh or sigmoid "
                "written with exp overflows there (inf / inf); torch.tanh and "
                "torch.sigmoid saturate safely",
            )
        like_the_cell((loud_x, h), (4, 3))(result)

    return [
        Case("returns a (batch, hidden) tensor", plain, _state((4, 3))),
        Case(
            "equals nn.GRUCell with the same weights",
            plain,
            like_the_cell((x, h), (4, 3)),
        ),
        Case(
            "z = 1 keeps the old state",
            keep,
            lambda result: expect_close(
                _state((4, 3))(result),
                h,
                name="h_t",
                atol=1e-4,
                hint="with z = 1 the GRU must keep h_(t-1): is z multiplying the old state?",
            ),
        ),
        Case(
            "r = 0 drops the old state from the candidate n",
            reset,
            lambda result: expect_close(
                _state((4, 3))(result),
                torch.tanh(x @ weights[0][6:].T + reset_bias[6:]),
                name="h_t",
                atol=1e-4,
                hint="with r = 0 and z = 0 the new state must be the candidate "
                "n = tanh(W_in x + b_in), with nothing of h_(t-1): r multiplies the hidden "
                "part of n, and z = 0 keeps all of n",
            ),
        ),
        Case(
            "a batch of one example gives a (1, hidden) state",
            one_row,
            like_the_cell((x[2:3], h[2:3]), (1, 3)),
        ),
        Case(
            "works in float64 (inputs and weights all float64)",
            in_float64,
            like_the_cell((x.double(), h.double()), (4, 3)),
        ),
        Case(
            "pre-activations near ±1000 saturate the gates without NaN",
            loud,
            saturates_without_nan,
        ),
    ]


# ---------------------------------------------------------------- exercise 2: encode

RNN_SHORTCUTS = (
    "torch.nn.RNN.forward",
    "torch._VF.rnn_tanh",
    "torch.nn.utils.rnn.pack_padded_sequence",
)


def _rnn_like(cell):
    """An nn.RNN holding the weights of an nn.RNNCell."""
    rnn = nn.RNN(cell.input_size, cell.hidden_size, batch_first=True)
    rnn = rnn.to(cell.weight_ih.dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(rnn, f"{name}_l0").copy_(getattr(cell, name))
    return rnn


def _encode_reference(cell, inputs, lengths):
    """(states zero at padding, context) from nn.RNN run on each sequence alone."""
    rnn = _rnn_like(cell)
    states = torch.zeros(*inputs.shape[:2], cell.hidden_size, dtype=inputs.dtype)
    contexts = []
    with torch.no_grad():
        for row, length in enumerate(lengths.tolist()):
            outputs, last = rnn(inputs[row : row + 1, :length])
            states[row, :length] = outputs[0]
            contexts.append(last[0, 0])
    return states, torch.stack(contexts)


def _encode_parts(batch, time, hidden):
    def parts(result):
        states, context = expect_parts(result, "states", "context")
        return (
            expect_tensor(states, shape=(batch, time, hidden), name="states"),
            expect_tensor(context, shape=(batch, hidden), name="context"),
        )

    return parts


@lab.check(points=3, forbid=RNN_SHORTCUTS)
def check_encode():
    cell = _rnn_cell(3, 5, seed=2)
    lengths = torch.tensor([6, 2, 4])
    inputs = seeded_randn(3, 6, 3, seed=3)  # (batch, time, input)
    # The padding holds large numbers: a state that reads them is far off, never close.
    padding = torch.arange(6)[None, :] >= lengths[:, None]
    inputs[padding] = seeded_randn(int(padding.sum()), 3, seed=4, scale=1000.0)
    full = seeded_randn(2, 4, 3, seed=5)
    one_row = seeded_randn(1, 4, 3, seed=6)
    cell64 = copy.deepcopy(cell).double()
    inputs64, lengths64 = seeded_randn(2, 5, 3, seed=7).double(), torch.tensor([3, 5])
    padded = calls(cell, inputs, lengths)
    parts = _encode_parts(3, 6, 5)

    def reference():
        return _encode_reference(cell, inputs, lengths)

    def states_match(result):
        states, _ = parts(result)
        expected = reference()[0]
        real = ~padding
        expect_close(
            states[real],
            expected[real],
            name="states at the real positions",
            hint="start from h_0 = 0 and apply the cell once per time step, in order; "
            "a row's states before its length never depend on its padding",
        )

    def zero_at_padding(result):
        states, _ = parts(result)
        largest = states[padding].abs().max().item()
        expect_true(
            largest == 0,
            f"states at padding positions must be 0, the largest there is {largest:.3g}: "
            "a sequence has no state after its last real input",
        )

    def context_is_own_last_state(result):
        _, context = parts(result)
        with torch.no_grad():
            through_padding = _rnn_like(cell)(inputs)[1][0]
        mistakes = [
            Mistake(
                "this is the state after the last column, which for a shorter row comes "
                "after its padding: take each row's state after its own last real input",
                lambda: through_padding,
            ),
            Mistake(
                "the context of a shorter row is 0: it is the state at position "
                "lengths[b] - 1, not at the last column",
                lambda: reference()[1] * (lengths == 6)[:, None],
            ),
        ]
        expect_close(
            context,
            reference()[1],
            name="context",
            mistakes=mistakes,
            hint="row b's context is its state after input lengths[b], c = h_(length)",
        )

    def like_rnn(inputs, lengths, cell, batch, time):
        def judge(result):
            states, context = _encode_parts(batch, time, 5)(result)
            expected_states, expected_context = _encode_reference(cell, inputs, lengths)
            expect_close(states, expected_states, name="states")
            expect_close(context, expected_context, name="context")

        return judge

    return [
        Case("returns (states, context) with the right shapes", padded, parts),
        Case("states equal nn.RNN's outputs at the real positions", padded, states_match),
        Case("states are zero at the padding positions", padded, zero_at_padding),
        Case(
            "context is the last state c = h_n of each sequence, at its own length",
            padded,
            context_is_own_last_state,
        ),
        Case(
            "a batch of one sequence, lengths = [time]",
            calls(cell, one_row, torch.tensor([4])),
            like_rnn(one_row, torch.tensor([4]), cell, 1, 4),
        ),
        Case(
            "without lengths, every sequence is read to the end",
            calls(cell, full),
            like_rnn(full, torch.tensor([4, 4]), cell, 2, 4),
        ),
        Case(
            "works in float64 (cell and inputs)",
            calls(cell64, inputs64, lengths64),
            like_rnn(inputs64, lengths64, cell64, 2, 5),
        ),
    ]


# ---------------------------------------------------------------- exercise 3: gradients


def _reference_state_gradients(cell, inputs):
    states = []
    h = torch.zeros(inputs.shape[1], cell.hidden_size, dtype=inputs.dtype)
    for x_t in inputs:
        h = cell(x_t, h)
        states.append(h)
    grads = torch.autograd.grad(states[-1].sum(), states)
    return torch.stack([g.norm() for g in grads])


@lab.check(points=2, forbid=("torch.nn.RNN.forward", "torch._VF.rnn_tanh"))
def check_state_gradient_norms():
    cell = _rnn_cell(4, 8, seed=6)
    inputs = seeded_randn(12, 2, 4, seed=7)  # (time, batch, input)
    one_row = seeded_randn(9, 1, 4, seed=8)
    cell64 = copy.deepcopy(cell).double()
    inputs64 = seeded_randn(7, 3, 4, seed=9).double()
    run = calls(cell, inputs)

    def norms(result, steps=12):
        return expect_tensor(result, shape=(steps,), name="norms")

    def last_is_all_ones(result):
        got, expected_last = norms(result), (2 * 8) ** 0.5
        expect_true(
            abs(got[-1].item() - expected_last) < 1e-4,
            f"d(h_T.sum())/d h_T is all ones, of norm sqrt(batch * hidden) = "
            f"{expected_last:.4f}; the last norm is {got[-1].item():.4f}",
        )

    def matches_autograd(cell, inputs):
        def judge(result):
            expect_close(
                norms(result, len(inputs)),
                _reference_state_gradients(cell, inputs),
                name="norms",
                rtol=1e-3,
                hint="keep every h_t in the graph (no detach) and take the "
                "gradient with respect to each state, not the inputs; the norm is over "
                "the whole (batch, hidden) gradient",
            )

        return judge

    return [
        Case("returns one norm per time step", run, norms),
        Case("the last norm is that of dL/dh_T (all ones)", run, last_is_all_ones),
        Case("equals the gradient norms through time", run, matches_autograd(cell, inputs)),
        Case(
            "a batch of one sequence",
            calls(cell, one_row),
            matches_autograd(cell, one_row),
        ),
        Case(
            "works in float64 (cell and inputs)",
            calls(cell64, inputs64),
            matches_autograd(cell64, inputs64),
        ),
    ]


# ---------------------------------------------------------------- experiment: recall

SYMBOLS = 10
# (symbols per sequence, numbers in the state) of the three runs
RUNS = ((4, 32), (16, 32), (16, 128))
TRAIN_SEQUENCES, TEST_SEQUENCES = 1000, 500
RECALL_TOLERANCE = 0.03  # least-squares solvers differ; a flipped argmax or two is fine


def _run_name(length, size):
    return f"{length} symbols, state of {size}"


def _recall_inputs():
    cells = {size: _rnn_cell(SYMBOLS, size, seed=0) for size in {size for _, size in RUNS}}
    sources = {}
    for length in sorted({length for length, _ in RUNS}):
        generator = seeded_generator(100 + length)
        train = torch.randint(0, SYMBOLS, (TRAIN_SEQUENCES, length), generator=generator)
        test = torch.randint(0, SYMBOLS, (TEST_SEQUENCES, length), generator=generator)
        sources[length] = (train, test)
    return cells, sources


def _final_states(cell, sources, step=None):
    """The state after the last symbol (or after symbol ``step``) of one-hot sequences."""
    inputs = nn.functional.one_hot(sources, SYMBOLS).to(cell.weight_ih.dtype)
    h = torch.zeros(len(sources), cell.hidden_size, dtype=inputs.dtype)
    with torch.no_grad():
        for t in range(inputs.shape[1] if step is None else step):
            h = cell(inputs[:, t], h)
    return h


def _reference_recall(cell, train, test, measure_on_train=False, first_state=False):
    """Per-position accuracy of a least-squares readout from the final state (with a
    constant feature), fitted on ``train``, measured on ``test``; or a mistake."""
    step = 1 if first_state else None

    def features(sources):
        states = _final_states(cell, sources, step)
        return torch.cat([states, torch.ones(len(states), 1)], dim=1)

    targets = nn.functional.one_hot(train, SYMBOLS).float().flatten(1)
    readout = torch.linalg.lstsq(features(train), targets).solution
    measured = train if measure_on_train else test
    scores = (features(measured) @ readout).view(len(measured), -1, SYMBOLS)
    return (scores.argmax(dim=-1) == measured).float().mean(dim=0).numpy()


@lab.check(points=3)
def check_recall_by_position():
    cells, sources = _recall_inputs()

    def experiment(recall_by_position):
        return {
            _run_name(length, size): recall_by_position(cells[size], *sources[length])
            for length, size in RUNS
        }

    references = {}

    def reference(length, size, **mistake):
        key = (length, size, tuple(sorted(mistake)))
        if key not in references:
            references[key] = _reference_recall(cells[size], *sources[length], **mistake)
        return references[key]

    def runs(result):
        expect_true(
            isinstance(result, dict) and set(result) == {_run_name(*run) for run in RUNS},
            f"expected the three runs' results, got {result!r}"[:300],
        )
        accuracies = {}
        for length, size in RUNS:
            name = f"the accuracies of the run on {_run_name(length, size)}"
            got = expect_array(result[_run_name(length, size)], shape=(length,), name=name)
            expect_true(
                ((got >= 0) & (got <= 1)).all(),
                f"{name} must lie between 0 and 1 (a share of the test sequences), got "
                f"{np.round(got, 3).tolist()}",
            )
            accuracies[length, size] = got
        return accuracies

    def equals_reference(length, size):
        def judge(result):
            got = runs(result)[length, size]
            mistakes = [
                Mistake(
                    "this is the accuracy on the sequences the readout was fitted on: "
                    "measure it on test_sources, which it never saw",
                    lambda: reference(length, size, measure_on_train=True),
                ),
                Mistake(
                    "this is the recall from the state after the first symbol: the "
                    "context is the state after the last one",
                    lambda: reference(length, size, first_state=True),
                ),
            ]
            got_mistake = named_mistake(got, mistakes, atol=RECALL_TOLERANCE)
            expected = reference(length, size)
            if got_mistake and not np.allclose(got, expected, atol=RECALL_TOLERANCE):
                raise CaseFailed(f"the recall by position is wrong: {got_mistake}")
            expect_close(
                got,
                expected,
                name="the recall by position",
                atol=RECALL_TOLERANCE,
                hint="one-hot the symbols, run the cell from h_0 = 0 to the last symbol, "
                "append a constant 1 to each final state, fit one least-squares readout "
                "from it to the one-hot symbols of every position on train_sources, and "
                "measure the argmax on test_sources",
            )

        return judge

    def short_fits(result):
        accuracy = runs(result)[4, 32].mean()
        expect_true(
            accuracy >= 0.9,
            f"4 symbols should fit in a state of 32 numbers, your recall is {accuracy:.2f}: "
            "is the readout fitted to every position at once, on the final state?",
        )

    def long_does_not(result):
        accuracies = runs(result)
        short, long = accuracies[4, 32].mean(), accuracies[16, 32].mean()
        expect_true(
            short - long >= 0.4,
            f"the same state should hold 16 symbols far worse than 4: your recall is "
            f"{short:.2f} for 4 and {long:.2f} for 16",
        )

    def recent_symbols_survive(result):
        accuracy = runs(result)[16, 32]
        expect_true(
            accuracy[-1] >= 0.9 and accuracy[0] <= 0.3,
            "at 16 symbols the last symbol should be recalled (>= 0.9) and the first "
            f"barely (<= 0.3, chance is 0.1); yours: first {accuracy[0]:.2f}, last "
            f"{accuracy[-1]:.2f}. Is position 0 the first symbol read?",
        )

    def wider_state_keeps_more(result):
        accuracies = runs(result)
        narrow, wide = accuracies[16, 32].mean(), accuracies[16, 128].mean()
        expect_true(
            wide - narrow >= 0.15,
            f"a state of 128 numbers should recall more of 16 symbols than one of 32: "
            f"yours recall {wide:.2f} and {narrow:.2f}",
        )

    run = experiment
    return [
        Case("returns one accuracy per position, between 0 and 1, for each run", run, runs),
        Case(
            "4 symbols, state of 32: equals the least-squares recall measured here",
            run,
            equals_reference(4, 32),
        ),
        Case(
            "16 symbols, state of 32: equals the least-squares recall measured here",
            run,
            equals_reference(16, 32),
        ),
        Case(
            "16 symbols, state of 128: equals the least-squares recall measured here",
            run,
            equals_reference(16, 128),
        ),
        Case("4 symbols fit in 32 numbers: mean recall at least 0.9", run, short_fits),
        Case(
            "16 symbols do not: mean recall at least 0.4 lower than for 4",
            run,
            long_does_not,
        ),
        Case(
            "the most recent symbols survive: the last is recalled, the first is near chance",
            run,
            recent_symbols_survive,
        ),
        Case(
            "a state of 128 numbers keeps more of the 16 symbols (at least +0.15)",
            run,
            wider_state_keeps_more,
        ),
    ]


# ---------------------------------------------------------------- question

# Why each wrong choice does not fit the measurement: the evidence, not the answer.
BOTTLENECK_CHOICES = {
    "a": "count the readout's numbers: for 16 symbols it has 33 x 160, four times as many "
    "as for 4 symbols (33 x 40), and it recalls less",
    "b": "nothing in this measurement follows a gradient: the readout is a least-squares "
    "solution and the recurrent cell is never trained",
    "d": "the recall was measured on test sequences the readout never saw, and the wider "
    "state, with a readout four times larger again, recalls more, not less",
}


@lab.check(points=1)
def check_reading_the_bottleneck():
    def judge(result):
        expect_answer(result, "c", BOTTLENECK_CHOICES)

    return [Case("picks the explanation that fits the measurement", calls(), judge)]
