// Accessible tabs (WAI-ARIA tabs pattern): buttons with role=tab and aria-selected, panels with
// role=tabpanel shown one at a time; arrow keys, Home and End move between tabs.
export class Tabs {
  constructor(list, onSelect) {
    this.tabs = [...list.querySelectorAll('[role=tab]')];
    this.onSelect = onSelect;
    for (const tab of this.tabs) {
      tab.addEventListener('click', () => this.select(tab.getAttribute('aria-controls')));
      tab.addEventListener('keydown', (event) => {
        const at = this.tabs.indexOf(tab);
        const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: this.tabs.length - 1 }[event.key];
        if (next === undefined) return;
        event.preventDefault();
        const target = this.tabs[(next + this.tabs.length) % this.tabs.length];
        this.select(target.getAttribute('aria-controls'));
        target.focus();
      });
    }
  }

  /** Shows the panel with this id, marks its tab selected. */
  select(panelId) {
    for (const tab of this.tabs) {
      const selected = tab.getAttribute('aria-controls') === panelId;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      document.getElementById(tab.getAttribute('aria-controls')).hidden = !selected;
    }
    this.onSelect?.(panelId);
  }
}
