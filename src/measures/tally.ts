import type { GroupDef, PopulationCode } from './definition.js';
import type { GroupResult, StratumPlace } from './pathway.js';

/** The counts of one set of populations (a group, or one stratum), with the CarePlans when listed. */
export class Tally {
  readonly counts = new Map<PopulationCode, number>();
  readonly members = new Map<PopulationCode, string[]>();
  readonly observations: number[] = [];

  constructor(private readonly listed: boolean) {}

  add(result: GroupResult, carePlanId: string): void {
    for (const code of result.members) {
      this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
      if (!this.listed) continue;
      const list = this.members.get(code);
      if (list) list.push(carePlanId);
      else this.members.set(code, [carePlanId]);
    }
    if (result.observation !== undefined) this.observations.push(result.observation);
  }

  count(code: PopulationCode): number {
    return this.counts.get(code) ?? 0;
  }
}

/** One stratum: its value (or components) and its own tally. */
export interface StratumTally {
  place: StratumPlace;
  tally: Tally;
}

/** A group's tally and, per stratifier, the tally of each stratum met. */
export class GroupTally {
  readonly total: Tally;
  readonly strata: Map<string, StratumTally>[];

  constructor(
    readonly group: GroupDef,
    private readonly listed: boolean,
  ) {
    this.total = new Tally(listed);
    this.strata = group.stratifiers.map(() => new Map());
  }

  /** A pathway of the initial population (others add nothing: every population is within it). */
  add(result: GroupResult, carePlanId: string): void {
    if (!result.members.has('initial-population')) return;
    this.total.add(result, carePlanId);
    result.strata.forEach((place, k) => {
      let stratum = this.strata[k].get(place.key);
      if (!stratum) this.strata[k].set(place.key, (stratum = { place, tally: new Tally(this.listed) }));
      stratum.tally.add(result, carePlanId);
    });
  }

  /** A stratifier's strata in the order of their keys: the same data give the same report. */
  sortedStrata(k: number): StratumTally[] {
    return [...this.strata[k].entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  }
}
