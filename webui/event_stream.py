"""No event of the page lost between two of Gradio's event streams (``HEAD``, a script put in the
page's head by ``app.launch_options``, so that it runs before Gradio's own).

The page hears how its events end over one stream a session (``GET /gradio_api/queue/data``). The
server ends that stream (a ``close_stream`` message) as soon as every event it knows of for the
session has ended, and Gradio's page script (6.31) opens a new one only where an event is asked while
it believes none is open. So an event asked just as the last one ended was lost: its ``queue/join``
answered before the ``close_stream`` sent a moment earlier was read (two connections; a busy page
reads them in either order), the page saw a stream still open and opened none, then the stream
closed, and the event's answer waited on the server for a stream nobody opened: a search that never
answered, its steps after it never run, until something else was asked. Seen once in a few runs of
the test suite on this 2-core machine (the drop zone's steps never ending; Gradio's stream cut
among the page's requests); made certain by holding the ``close_stream`` back 300 ms on its way out
(tests/browser/test_event_stream_browser.py).

The script stands between Gradio's page script and ``fetch``. It notes each event whose
``queue/join`` it hands on (before the page sees the answer) and each ``process_completed`` the
stream brings. A ``close_stream`` that comes while an event handed on in the last
``RECENT_MS`` has not ended (one asked after the server chose to close) is kept from the page: the
script asks the server for the stream again and goes on feeding the page's stream from the new one,
so the page reads that event's answer where it waits for it. Any other ``close_stream`` goes to the
page as before, and a ``queue/join`` answered just after it is handed on a turn later, once the page
has read the close. Only those: a stream asked for again ends as the server closes it once more, so
no idle page holds one open for this script (a browser opens six connections to a server at most,
and each page holds Gradio's heartbeat already). An event that ended in the stream before its
join's answer was read (a quick one, on a busy page) is not waited for, and one that never ends in
it (cancelled) stops counting after ``RECENT_MS``. Where asking again fails (the server gone or
restarted), the page gets the ``close_stream`` and Gradio's own handling, as before.
``window.clipsearchStreamKept`` counts the streams asked for again, and those still open (tests).
"""

from __future__ import annotations

RECENT_MS = 2000  # an event handed on this recently and not ended keeps the stream going

KEPT_STREAM_JS = """(() => {
  if (window.clipsearchStreamKept) return;
  const counts = window.clipsearchStreamKept = {reopened: 0, open: 0};  // streams asked for again, and still open
  const plainFetch = window.fetch.bind(window);
  const joined = new Map();  // event id -> when its join was handed to the page (ms)
  const endedFirst = new Map();  // event id -> when it ended, where that came before its join's answer
  let closedAt = -Infinity;  // when a close_stream last went to the page
  const ended = /"msg":"process_completed"/;
  const eventId = /"event_id":"([^"]+)"/;
  const closing = /^data: ?\\{"msg":"close_stream"/m;
  const forgetOld = (noted) => {
    const now = performance.now();
    for (const [id, at] of noted) if (now - at >= __RECENT_MS__) noted.delete(id);
    return noted.size;
  };
  const awaited = () => forgetOld(joined);  // events handed on lately that have not ended
  const end = (id) => {  // a quick event may end in the stream before its join's answer is read
    if (!joined.delete(id)) endedFirst.set(id, performance.now());
    forgetOld(endedFirst);
  };
  async function join(input, init) {
    const answer = await plainFetch(input, init);
    if (!answer.ok) return answer;
    try {
      const id = (await answer.clone().json()).event_id;
      if (id && !endedFirst.delete(id)) joined.set(id, performance.now());
    } catch (error) { return answer; }
    // Just after a close went to the page: hand this on a turn later, once the page has read the close.
    if (performance.now() - closedAt < __RECENT_MS__) await new Promise((later) => setTimeout(later, 0));
    return answer;
  }
  async function kept(request) {
    const first = await plainFetch(request.clone());
    if (!first.ok || !first.body) return first;
    let reader = null, cancelled = false;  // cancelled: the page let go of the stream
    const encoder = new TextEncoder();
    const body = new ReadableStream({
      async start(page) {
        let answer = first, held = null, again = false;
        try {
          for (;;) {
            reader = answer.body.getReader();
            const decoder = new TextDecoder();
            let buffer = "";
            held = null;
            for (;;) {
              const {value, done} = await reader.read();
              if (done) break;
              buffer += decoder.decode(value, {stream: true});
              for (let cut = buffer.indexOf("\\n\\n"); cut >= 0; cut = buffer.indexOf("\\n\\n")) {
                const message = buffer.slice(0, cut + 2);
                buffer = buffer.slice(cut + 2);
                if (closing.test(message)) { held = message; continue; }
                if (ended.test(message)) end((message.match(eventId) || [])[1]);
                page.enqueue(encoder.encode(message));
              }
            }
            if (again) { counts.open -= 1; again = false; }
            if (cancelled) return;
            if (buffer) page.enqueue(encoder.encode(buffer));
            if (!held || request.signal.aborted || !awaited()) break;
            answer = await plainFetch(request.clone());  // the event asked meanwhile answers on this one
            if (!answer.ok || !answer.body) break;
            counts.reopened += 1; counts.open += 1; again = true;
          }
          if (held) { closedAt = performance.now(); page.enqueue(encoder.encode(held)); }
          page.close();
        } catch (error) {
          if (again) counts.open -= 1;
          if (!cancelled) page.error(error);
        }
      },
      cancel(reason) { cancelled = true; return reader && reader.cancel(reason); },
    });
    return new Response(body, {status: first.status, statusText: first.statusText, headers: first.headers});
  }
  window.fetch = function (input, init) {  // a Request with a body is never copied here: that would use it up
    const url = new URL(input instanceof Request ? input.url : String(input), location.href);
    const method = String((init && init.method) || (input instanceof Request ? input.method : "GET")).toUpperCase();
    if (method === "POST" && url.pathname.endsWith("/queue/join")) return join(input, init);
    if (method === "GET" && url.pathname.endsWith("/queue/data") && url.searchParams.has("session_hash"))
      return kept(new Request(input, init));
    return plainFetch(input, init);
  };
})();""".replace("__RECENT_MS__", str(RECENT_MS))

HEAD = f"<script>{KEPT_STREAM_JS}</script>"
