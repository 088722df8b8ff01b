// The visitor's controls: look buttons (titles from data/looks.json, order and default from
// data/event.json), the strength slider, the speed readout switch.

/** Looks to offer, in the event's order, only those the site has; the first when the default is missing. */
export function lookOrder(looks, event) {
  const byName = new Map(looks.map((look) => [look.name, look]));
  const named = (event.looks ?? []).filter((name) => byName.has(name));
  const order = named.length ? named : looks.map((look) => look.name);
  const first = order.includes(event.look) ? event.look : order[0];
  return { order: order.map((name) => byName.get(name)), first };
}

/** One button per look; `choose(name)` is called on a press. Returns a function that marks the current one. */
export function lookButtons(container, looks, choose) {
  container.replaceChildren(...looks.map((look) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = look.title || look.name;
    button.dataset.look = look.name;
    button.dataset.testid = `look-${look.name}`;
    button.setAttribute("aria-pressed", "false");
    if (look.description) button.title = look.description;
    button.addEventListener("click", () => choose(look.name));
    return button;
  }));
  return (current) => {
    for (const button of container.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.look === current));
    }
  };
}

/** The strength slider (0 to 2): `change(value)` on every move; keyboard arrows work as for any range. */
export function intensitySlider(input, output, initial, change) {
  const show = () => {
    const value = Number(input.value);
    output.textContent = value.toFixed(1);
    change(value);
  };
  input.value = String(initial);
  input.addEventListener("input", show);
  show();
}

/** The Speed button and ?fps=1: shows or hides the frame-time corner. */
export function speedToggle(button, corner, startShown) {
  const set = (shown) => {
    corner.hidden = !shown;
    button.setAttribute("aria-pressed", String(shown));
    button.textContent = shown ? "Hide speed" : "Show speed";
  };
  set(startShown);
  button.addEventListener("click", () => set(corner.hidden));
}
