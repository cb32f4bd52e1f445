// The transcript as a list of segments (speaker, times, text): the segment being played is
// highlighted, a click or Enter selects one. One segment at a time is in the tab order (roving
// tabindex), so Tab leaves the transcript in one step and the arrow keys move inside it.

import { el } from "./common.js";

function stamp(seconds) {
  const m = Math.floor(seconds / 60);
  const s = (seconds % 60).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

/** Index of the segment playing at *time*: the last one started, if it has not ended yet. */
export function segmentAt(segments, time) {
  let low = 0;
  let high = segments.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (segments[mid].start <= time + 1e-3) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found >= 0 && time < segments[found].end ? found : -1;
}

/**
 * Render *segments* into the listbox *list*. onActivate(index, {play}) is called on click and
 * Enter. Returns {mark(index, {focus, follow})} to highlight a segment.
 */
export function createTranscript(list, segments, colours, onActivate) {
  const items = segments.map((segment, index) => {
    const item = el(
      "li",
      {
        id: `segment-${index}`,
        role: "option",
        tabindex: index === 0 ? "0" : "-1",
        "aria-selected": "false",
        "data-start": segment.start,
        "data-speaker": segment.speaker,
      },
      el(
        "div",
        { class: "who" },
        segment.speaker,
        el("span", { class: "when" }, `${stamp(segment.start)} – ${stamp(segment.end)}`),
      ),
      el("p", { class: "text" }, segment.text.trim() || "…"),
    );
    item.style.setProperty("--speaker", colours.get(segment.speaker) ?? "#888888");
    item.addEventListener("click", () => onActivate(index, { play: false }));
    item.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        onActivate(index, { play: true });
      }
    });
    return item;
  });
  list.replaceChildren(...items);
  if (!segments.length) list.append(el("li", {}, "No words were recognised in this call."));
  let current = -1;

  function mark(index, { focus = false, follow = false } = {}) {
    if (index !== current) {
      if (current >= 0) {
        items[current].classList.remove("current");
        items[current].setAttribute("aria-selected", "false");
      }
      if (index >= 0) {
        items[index].classList.add("current");
        items[index].setAttribute("aria-selected", "true");
        for (const item of items) item.tabIndex = -1;
        items[index].tabIndex = 0;
      }
      current = index;
    }
    if (index < 0) return;
    if (focus) {
      items[index].focus({ preventScroll: true });
      items[index].scrollIntoView({ block: "nearest" });
    } else if (follow) {
      scrollWithin(list, items[index]); // the box only: never pull the page away from the reader
    }
  }

  return { mark, current: () => current };
}

/** Scroll the transcript box (not the page) just enough to show *item*. */
function scrollWithin(box, item) {
  const top = item.offsetTop; // the list is position: relative, the items' offset parent
  if (top < box.scrollTop) box.scrollTop = top;
  else if (top + item.offsetHeight > box.scrollTop + box.clientHeight) {
    box.scrollTop = top + item.offsetHeight - box.clientHeight;
  }
}
