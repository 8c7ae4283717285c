"""Photos named in upper case (IMG_0001.HEIC, as phones and cameras name them), and camera RAW
files, into the drop zone.

A browser types a chosen or dropped file by its name's extension, and Chromium on Linux gives an
upper-case .HEIC or .HEIF no type at all (a lower-case one is ``image/heif``); a camera RAW file
gets none, or one that is not a picture's, where the system knows no type for it. Gradio's drop
zone takes files of type ``image/*`` only: it refused such a file chosen ("Invalid file type"), and
ignored it dropped, without a word. The page's script (``TYPES_JS``, installed once at page load)
gives a file of a picture's extension whose type is not a picture's the type of its extension,
upper case or not, before Gradio's own handlers read it: a file chosen is put back in its input,
retyped; a drop is made again with the retyped files. The server opens the upload by its content,
as it opens any picture (a RAW file with LibRaw, ``upload_image.upload_image``).
"""

# No `from __future__ import annotations`: Gradio reads the event functions' hints at run time.
import json

import gradio as gr

# The type of each picture file the indexer reads (``clipsearch.image_formats.IMAGE_EXTENSIONS``; a unit test checks).
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg", ".jfif": "image/jpeg",
         ".png": "image/png", ".webp": "image/webp", ".gif": "image/gif", ".bmp": "image/bmp",
         ".tif": "image/tiff", ".tiff": "image/tiff", ".heic": "image/heic", ".heif": "image/heif",
         ".avif": "image/avif", ".dng": "image/x-adobe-dng", ".cr2": "image/x-canon-cr2", ".cr3": "image/x-canon-cr3",
         ".crw": "image/x-canon-crw", ".nef": "image/x-nikon-nef", ".nrw": "image/x-nikon-nrw",
         ".arw": "image/x-sony-arw", ".srf": "image/x-sony-srf", ".sr2": "image/x-sony-sr2",
         ".orf": "image/x-olympus-orf", ".rw2": "image/x-panasonic-rw2", ".rwl": "image/x-panasonic-rwl",
         ".raf": "image/x-fuji-raf", ".pef": "image/x-pentax-pef", ".srw": "image/x-samsung-srw",
         ".3fr": "image/x-hasselblad-3fr", ".fff": "image/x-hasselblad-fff", ".iiq": "image/x-phaseone-iiq",
         ".mos": "image/x-leaf-mos", ".mrw": "image/x-minolta-mrw", ".erf": "image/x-epson-erf",
         ".kdc": "image/x-kodak-kdc", ".dcr": "image/x-kodak-dcr"}
ZONE = "query-image"  # the drop zone (app.py)

TYPES_JS = """() => {
  if (window.clipsearchTypes) return;
  window.clipsearchTypes = true;
  const TYPES = __TYPES__, ZONE = __ZONE__;
  const typeOf = (file) => {
    const name = file.name.toLowerCase(), dot = name.lastIndexOf(".");
    return dot < 0 ? undefined : TYPES[name.slice(dot)];
  };
  const retyped = (files) => {  // a DataTransfer of the files, each given its type; null where none lacked one
    const list = Array.from(files || []);
    const untyped = (file) => !file.type.startsWith("image/") && typeOf(file);
    if (!list.some(untyped)) return null;
    const moved = new DataTransfer();
    list.forEach((file) => moved.items.add(!untyped(file) ? file :
      new File([file], file.name, {type: typeOf(file), lastModified: file.lastModified})));
    return moved;
  };
  const inZone = (target) => target instanceof Element && target.closest(`#${ZONE}`);
  document.addEventListener("change", (event) => {  // a file chosen: retyped in its input before Gradio reads it
    const input = event.target;
    if (!inZone(input) || input.type !== "file") return;
    const moved = retyped(input.files);
    if (moved) input.files = moved.files;
  }, true);
  document.addEventListener("drop", (event) => {  // a file dropped: the drop made again, with it retyped
    if (!inZone(event.target)) return;
    const moved = retyped(event.dataTransfer && event.dataTransfer.files);
    if (!moved) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    event.target.dispatchEvent(new DragEvent("drop", {dataTransfer: moved, bubbles: true, cancelable: true,
                                                      clientX: event.clientX, clientY: event.clientY}));
  }, true);
}""".replace("__TYPES__", json.dumps(TYPES)).replace("__ZONE__", json.dumps(ZONE))


def install(demo: gr.Blocks) -> None:
    """The script, once the page has loaded."""
    demo.load(None, js=TYPES_JS, api_visibility="private", show_progress="hidden")
