"""The `durastate demo`: an LLM-free agent graph showing persistence across processes."""

from durastate.demo.embedder import DIMS, HashingEmbeddings, aembed_texts, embed_text, embed_texts

__all__ = ["DIMS", "HashingEmbeddings", "aembed_texts", "embed_text", "embed_texts"]
