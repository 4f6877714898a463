"""The chapters' models and the attention mechanisms they are built from.

* :mod:`.additive_attention`: score, normaliser and weighted sum over encoder states, with
  Bahdanau's additive score (Chapter 3);
* :mod:`.seq2seq`: recurrent encoder-decoders with and without attention (Chapters 1, 3);
* :mod:`.attention_zoo`: other scores, normalisers, hard and local attention (Chapter 4);
* :mod:`.dot_product_attention`: scaled dot-product attention and its masks (Chapter 5);
* :mod:`.transformer`: multi-head attention and the Transformer's blocks (Chapters 6, 7);
* :mod:`.forecasters`: recurrent and lag-attention forecasters of time series (Chapter 8
  and notebook 8b);
* :mod:`.language_model`: a decoder-only language model, its positions, grouped queries,
  KV cache and tiled attention (Chapter 9).
"""
