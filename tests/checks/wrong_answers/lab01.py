from . import WrongAnswer

WRONG_ANSWERS = [
    WrongAnswer(
        "check_rnn_step",
        "ReLU instead of tanh",
        "return torch.tanh(x @ W_xh.T",
        "return torch.relu(x @ W_xh.T",
    ),
    WrongAnswer(
        "check_rnn_step",
        "the previous state left out",
        "torch.tanh(x @ W_xh.T + h @ W_hh.T + b)",
        "torch.tanh(x @ W_xh.T + b)",
    ),
    WrongAnswer(
        "check_rnn_step",
        "the bias left out",
        "torch.tanh(x @ W_xh.T + h @ W_hh.T + b)",
        "torch.tanh(x @ W_xh.T + h @ W_hh.T)",
    ),
    WrongAnswer("check_rnn_step", "W_hh not transposed", "h @ W_hh.T + b)", "h @ W_hh + b)"),
    WrongAnswer(
        "check_encode",
        "the first hidden state returned as context",
        "return states, states[:, -1]",
        "return states, states[:, 0]",
    ),
    WrongAnswer(
        "check_encode",
        "states stacked along the batch axis",
        "states = torch.stack(states, dim=1)",
        "states = torch.stack(states, dim=0)",
    ),
    WrongAnswer(
        "check_encode",
        "the state never carried to the next step",
        "h = cell(inputs[:, t], h)",
        "h = cell(inputs[:, t], torch.zeros_like(h))",
    ),
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
]
