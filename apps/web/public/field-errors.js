// Messages next to the fields they are about: the field gets aria-invalid and
// aria-describedby pointing at a message element right after it (made on first use), so a
// screen reader reads the message with the field.
export class FieldErrors {
  constructor(form) {
    this.form = form;
    this.shown = new Set();
    // editing a field takes its message away (the next Generate checks again)
    form.addEventListener('input', (event) => this.clear(event.target));
  }

  /** The message element for `input`: after the input, inside its `.field` (or its parent). */
  messageElement(input) {
    const id = `${input.id || input.name}-error`;
    let element = document.getElementById(id);
    if (!element) {
      element = document.createElement('span');
      element.id = id;
      element.className = 'field-error';
      (input.closest('.field') ?? input.parentElement).append(element);
    }
    return element;
  }

  show(input, message) {
    const folded = input.closest('details');
    if (folded) folded.open = true;
    const element = this.messageElement(input);
    element.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    const described = new Set((input.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
    described.add(element.id);
    input.setAttribute('aria-describedby', [...described].join(' '));
    this.shown.add(input);
  }

  clear(input) {
    if (!this.shown.has(input)) return;
    this.messageElement(input).textContent = '';
    input.removeAttribute('aria-invalid');
    this.shown.delete(input);
  }

  clearAll() {
    for (const input of [...this.shown]) this.clear(input);
  }

  /** Shows `{ name: message }`; focuses the first field with a message. Returns how many. */
  showAll(problems) {
    const inputs = Object.entries(problems).map(([name, message]) => {
      const input = this.form.elements.namedItem(name);
      if (input) this.show(input, message);
      return input;
    });
    inputs.find(Boolean)?.focus();
    return inputs.filter(Boolean).length;
  }
}
