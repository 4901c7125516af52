"""The contract suite: run it against any server that claims to speak Runware's API.

    pytest --pyargs contracts.suite --runware-target URL --runware-api-key KEY

Strategy-drawn valid requests must succeed with conforming replies, labelled invalid ones
must get 400 naming the parameter, and every delivery method of the document is exercised
(sync, async with getResponse, stream). ``--runware-spec`` picks the document (given once
per model, or as a directory, every test runs for each model, and batches mix them);
``--runware-examples N`` (default 10) bounds the drawn requests per test — each one costs a
call (and, against the real API, credits).
"""
