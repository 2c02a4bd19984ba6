// Speaking labels. A label is announced once it has been the answer twice in a
// row, so a flickering result is not read out; "uncertain" (null) silences
// until a new label.

// The announcing rule alone: `consider(label)` answers {label} when `label`
// is to be announced now, else null.
export function createAnnouncer() {
  let candidate;
  let count = 0;
  let spoken = null;
  return {
    consider(label) {
      if (label === candidate) count += 1;
      else {
        candidate = label;
        count = 1;
      }
      if (count < 2 || label === spoken) return null;
      spoken = label;
      return { label };
    },
    // Forget what was said, so the current label is announced again.
    reset() {
      spoken = null;
    },
  };
}

// Wires the rule to the "Speak labels" checkbox, the live region and the
// browser's speech synthesis. `currentLabel()` is the label shown now.
export function createSpeech({ checkbox, live, storage, currentLabel }) {
  const announcer = createAnnouncer();
  const synth = globalThis.speechSynthesis;
  let enabled = false;

  function say(text) {
    synth.cancel();
    synth.speak(new SpeechSynthesisUtterance(text));
  }

  if (!synth) {
    checkbox.disabled = true;
    checkbox.parentElement.title = "This browser cannot speak";
  } else {
    enabled = storage.getItem("speakLabels") === "1";
    checkbox.checked = enabled;
    checkbox.addEventListener("change", () => {
      enabled = checkbox.checked;
      storage.setItem("speakLabels", enabled ? "1" : "0");
      announcer.reset();
      if (enabled) say(currentLabel() ?? "speaking labels");
      else synth.cancel();
    });
  }

  return {
    consider(label) {
      const announce = announcer.consider(label);
      if (!announce) return;
      live.textContent = announce.label ?? "uncertain";
      if (announce.label && enabled) say(announce.label);
    },
  };
}
