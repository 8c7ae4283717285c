"""Support shared by the tests and the benchmarks: one home for dev code.

- ``imagefactory``: ordinary and hostile image files made on the spot (nothing is downloaded),
  big phone photos included;
- ``fakes``: a fake encoder for tests of the code around the model;
- ``load``: a bounded load generator for the web app;
- ``net``: a free local port for a test server;
- ``ocrfactory``: libraries of photos with words (real fonts) beside shape pictures, for OCR tests;
- ``milvus_server``: a local Milvus standalone for the Milvus tests and benchmark.

The library (``clipsearch``, ``indexer``, ``webui``) never imports this package. It is a
package of the project (``pip install -e .``), so ``python benchmarks/bench_x.py`` imports it
like ``clipsearch``, with no ``sys.path`` edits.
"""
