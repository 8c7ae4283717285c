"""What the indexing run makes of each file the ``FileEmbedder`` hands back.

A file is touched (its content the record's), its metadata alone changed (its picture the
record's), moved (its content that of a file gone from the disk), embedded already (by a
distributed embedder), a copy whose stored vector it reuses, or content for the model, queued;
a file that could not be read is skipped, and remembered when the reason lasts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import unreadable_files
from .decoding import InspectedFile, inspect_file
from .errors import UnreadableImage
from .picture_fingerprint import metadata_only

if TYPE_CHECKING:
    from .encoders.base import Encoder
    from .pipeline import _RunState


class FileClassifying:
    """What ``IndexingPipeline`` gains from this module: ``_classify`` and ``_reuse_or_queue`` (a mixin)."""

    encoder: Encoder
    store: Any
    max_pixels: int | None
    unreadable: unreadable_files.Entries

    def _classify(self, item: InspectedFile, state: _RunState) -> None:
        """Decide what an inspected file is: touched, moved, reusable, embedded, or to embed."""
        stat, report = item.stat, state.report
        if item.error is not None:
            self._skip(item, state)
            return
        self.unreadable.pop(stat.path, None)
        state.stats[stat.path] = stat
        fp, old = item.fingerprint, state.known.get(stat.path)
        if item.picture and state.pictures is not None:
            state.read_pictures.append((fp, item.picture))
        if old and old[2] == fp:  # touched, or the same content in another file (a copy, a restore)
            state.batch.update.append(item.record())
            same_time = old[:2] == (stat.size, stat.mtime_ns)
            state.count("unchanged" if same_time else "updated")
            report.content_kept += not same_time  # its words, read by content, are not read again
            return
        if old and metadata_only(state.pictures, stat.path, item.picture):
            # its metadata alone changed (a rating, keywords, a date set right): the vector stays
            item.prepared = None
            state.batch.update.append(item.record())
            report.updated += 1
            report.metadata_kept += 1
            state.kept.append((old[2], fp))
            return
        sources = state.vanished_by_fp.get(fp)
        if sources and not old:  # a file that vanished elsewhere reappears here: a move
            source = sources.pop()
            state.renamed_from.add(source)
            state.batch.rename.append((source, item.record()))
            report.moved += 1
            return
        counter = "updated" if old else "added"
        if fp not in state.run_vectors and item.vector is not None:  # embedded by the FileEmbedder
            state.run_vectors[fp] = item.vector
            state.batch.put.append((item.record(), item.vector))
            report.embedded += 1
            state.count(counter)
            return
        item = self._reuse_or_queue(item, state)
        if item is not None:
            state.count(counter)

    def _skip(self, item: InspectedFile, state: _RunState) -> None:
        stat, reason = item.stat, item.error.reason
        state.report.skip(stat.path, reason)
        # An indexed photo broken since (a sync cut short): its record stays, said in the summary and
        # named by ``info`` (from the list below). One the OS refused now (a chmod, another user's
        # run) is tried every pass: said among the skipped alone, as info cannot name it.
        state.report.kept_unreadable += stat.path in state.known and reason in UnreadableImage.LASTING
        if reason in UnreadableImage.LASTING:
            self.unreadable[stat.path] = unreadable_files.entry(stat, reason)

    def _reuse_or_queue(self, item: InspectedFile, state: _RunState) -> InspectedFile | None:
        """Reuse a vector for this content if there is one, else queue the item for the model."""
        fp = item.fingerprint
        vector = state.run_vectors.get(fp)
        if vector is None and item.prepared is None:
            vector = self.store.vectors_by_fingerprint([fp]).get(fp)
            if vector is None:  # content the index lacks (hashed only), or its copy went away meanwhile
                self._use_model(state)
                item = inspect_file(item.stat, set(), self.encoder, self.max_pixels)
                if item.error is not None:
                    self._skip(item, state)
                    return None
        if vector is not None:
            state.batch.put.append((item.record(), vector))
            state.report.reused += 1
        elif any(e.fingerprint == fp for e in state.embeds):  # same content twice in one batch
            item.prepared = None
            state.twins.append(item)
            state.report.reused += 1
        else:
            state.embeds.append(item)
        return item
