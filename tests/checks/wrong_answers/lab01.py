from . import WrongAnswer

WRONG_ANSWERS = [
    # ------------------------------------------------------------ gru_step
    WrongAnswer(
        "check_gru_step",
        "update and reset gates swapped",
        "r = torch.sigmoid(x_r + h_r)\n    z = torch.sigmoid(x_z + h_z)",
        "r = torch.sigmoid(x_z + h_z)\n    z = torch.sigmoid(x_r + h_r)",
    ),
    WrongAnswer(
        "check_gru_step",
        "z and 1 - z swapped in the mix",
        "return (1 - z) * n + z * h",
        "return z * n + (1 - z) * h",
    ),
    WrongAnswer(
        "check_gru_step",
        "reset gate applied outside W_hn h + b_hn",
        "n = torch.tanh(x_n + r * h_n)",
        "n = torch.tanh(r * (x_n + h_n))",
    ),
    WrongAnswer(
        "check_gru_step",
        "tanh written with exp: inf / inf is NaN when the gates saturate",
        "n = torch.tanh(x_n + r * h_n)",
        "a = x_n + r * h_n\n"
        "    n = (torch.exp(a) - torch.exp(-a)) / (torch.exp(a) + torch.exp(-a))",
    ),
    WrongAnswer(
        "check_gru_step",
        "the stacked pre-activations split along the batch axis (chunk without dim)",
        "(x @ weight_ih.T + bias_ih).chunk(3, dim=1)\n"
        "    h_r, h_z, h_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)",
        "(x @ weight_ih.T + bias_ih).chunk(3)\n"
        "    h_r, h_z, h_n = (h @ weight_hh.T + bias_hh).chunk(3)",
    ),
    WrongAnswer(
        "check_gru_step",
        "library shortcut: torch.gru_cell",
        "    x_r, x_z, x_n = (x @ weight_ih.T",
        "    return torch.gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)\n"
        "    x_r, x_z, x_n = (x @ weight_ih.T",
    ),
    # ------------------------------------------------------------ encode
    WrongAnswer(
        "check_encode",
        "the context is the state at the last column (zero for a shorter row)",
        "return torch.stack(states, dim=1), h",
        "return torch.stack(states, dim=1), states[-1]",
    ),
    WrongAnswer(
        "check_encode",
        "states stacked along the batch axis",
        "return torch.stack(states, dim=1), h",
        "return torch.stack(states, dim=0), h",
    ),
    WrongAnswer(
        "check_encode",
        "the state never carried to the next step",
        "cell(inputs[:, t], h), h)",
        "cell(inputs[:, t], torch.zeros_like(h)), h)",
    ),
    WrongAnswer(
        "check_encode",
        "lengths ignored: every row runs through its padding",
        "h = torch.where(reading, cell(inputs[:, t], h), h)",
        "h = cell(inputs[:, t], h)",
    ),
    WrongAnswer(
        "check_encode",
        "padding positions keep the carried state instead of 0",
        "states.append(h * reading)",
        "states.append(h)",
    ),
    WrongAnswer(
        "check_encode",
        "off by one: a row also reads the first padding position",
        "reading = (t < lengths)[:, None]",
        "reading = (t <= lengths)[:, None]",
    ),
    WrongAnswer(
        "check_encode",
        "h_0 made in float32 whatever the inputs' dtype",
        "h = torch.zeros(batch, cell.hidden_size, dtype=inputs.dtype)",
        "h = torch.zeros(batch, cell.hidden_size)",
    ),
    WrongAnswer(
        "check_encode",
        "lengths=None not handled",
        "    if lengths is None:\n        lengths = torch.full((batch,), time)\n",
        "",
    ),
    # ------------------------------------------------------------ state_gradient_norms
    WrongAnswer(
        "check_state_gradient_norms",
        "gradient taken with respect to the inputs",
        "h = cell(x_t, h)\n        states.append(h)",
        "x_t = x_t.clone().requires_grad_()\n        h = cell(x_t, h)\n        states.append(x_t)",
    ),
    WrongAnswer(
        "check_state_gradient_norms",
        "norms returned last step first",
        "return torch.stack([gradient.norm() for gradient in gradients])",
        "return torch.stack([gradient.norm() for gradient in gradients]).flip(0)",
    ),
    WrongAnswer(
        "check_state_gradient_norms",
        "states detached between steps",
        "h = cell(x_t, h)\n        states.append(h)",
        "h = cell(x_t, h.detach())\n        states.append(h)",
    ),
    WrongAnswer(
        "check_state_gradient_norms",
        "L is the mean of h_T, not its sum",
        "torch.autograd.grad(states[-1].sum(), states)",
        "torch.autograd.grad(states[-1].mean(), states)",
    ),
    WrongAnswer(
        "check_state_gradient_norms",
        "the norm of the first example's gradient only",
        "[gradient.norm() for gradient in gradients]",
        "[gradient[0].norm() for gradient in gradients]",
    ),
    WrongAnswer(
        "check_state_gradient_norms",
        "h_0 made in float32 whatever the inputs' dtype",
        "h = torch.zeros(inputs.shape[1], cell.hidden_size, dtype=inputs.dtype)",
        "h = torch.zeros(inputs.shape[1], cell.hidden_size)",
    ),
    # ------------------------------------------------------------ recall_by_position
    WrongAnswer(
        "check_recall_by_position",
        "recall measured on the sequences the readout was fitted on",
        "scores = features(test_sources) @ readout\n"
        "        predicted = scores.view(len(test_sources), -1, 10).argmax(dim=-1)\n"
        "        accuracy = (predicted == test_sources)",
        "scores = features(train_sources) @ readout\n"
        "        predicted = scores.view(len(train_sources), -1, 10).argmax(dim=-1)\n"
        "        accuracy = (predicted == train_sources)",
    ),
    WrongAnswer(
        "check_recall_by_position",
        "the context taken after the first symbol instead of the last",
        "_, context = encode(cell, inputs)",
        "states, _ = encode(cell, inputs)\n        context = states[:, 0]",
    ),
    WrongAnswer(
        "check_recall_by_position",
        "scores read as (sequences, 10, length) instead of (sequences, length, 10)",
        "scores.view(len(test_sources), -1, 10).argmax(dim=-1)",
        "scores.view(len(test_sources), 10, -1).argmax(dim=1)",
    ),
    WrongAnswer(
        "check_recall_by_position",
        "one accuracy for the whole sequence instead of one per position",
        "accuracy = (predicted == test_sources).float().mean(dim=0)",
        "accuracy = (predicted == test_sources).float().mean(dim=0).mean().expand(1)",
    ),
    # ------------------------------------------------------------ reading_the_bottleneck
    WrongAnswer(
        "check_reading_the_bottleneck",
        "too few parameters",
        'return "c"',
        'return "a"',
    ),
    WrongAnswer(
        "check_reading_the_bottleneck",
        "vanishing gradients",
        'return "c"',
        'return "b"',
    ),
    WrongAnswer(
        "check_reading_the_bottleneck",
        "overfitting",
        'return "c"',
        'return "d"',
    ),
]
