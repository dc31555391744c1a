// DeltaBlue: the incremental constraint solver of Freeman-Benson, Maloney and
// Borning, ported from the Octane version (deltablue.js), including its
// quirks (removeFirst takes the last element; BinaryConstraint.chooseMethod
// has no early returns; Strength.nextWeaker's table). As in the Toy version,
// the four constraint classes are one class with a kind field and dispatch
// methods (no inheritance); OrderedCollection is a growable array per element
// type; a strength is its int value. Arguments: iterations (default 3000), n
// (default 100). One iteration runs the chain test and the projection test
// with n. Prints a checksum of the values the tests compute.
public class Deltablue {
  static final int REQUIRED = 0, STRONG_PREFERRED = 1, PREFERRED = 2, STRONG_DEFAULT = 3,
      NORMAL = 4, WEAK_DEFAULT = 5, WEAKEST = 6;
  static final int NONE = 0, FORWARD = 1, BACKWARD = -1;
  static final int STAY = 0, EDIT = 1, EQUALITY = 2, SCALE = 3;

  static Planner planner = null;

  // ---- OrderedCollection of constraints / of variables

  static final class CList {
    Constraint[] elms = new Constraint[4];
    int size = 0;

    void add(Constraint c) {
      if (size == elms.length) {
        Constraint[] bigger = new Constraint[2 * size];
        for (int i = 0; i < size; i++) bigger[i] = elms[i];
        elms = bigger;
      }
      elms[size] = c;
      size++;
    }

    // As in Octane: removes and returns the last element.
    Constraint removeFirst() {
      size--;
      Constraint c = elms[size];
      elms[size] = null;
      return c;
    }

    void remove(Constraint c) {
      int index = 0, skipped = 0;
      for (int i = 0; i < size; i++) {
        Constraint value = elms[i];
        if (value != c) {
          elms[index] = value;
          index++;
        } else {
          skipped++;
        }
      }
      for (int i = 0; i < skipped; i++) {
        size--;
        elms[size] = null;
      }
    }
  }

  static final class VList {
    Variable[] elms = new Variable[4];
    int size = 0;

    void add(Variable v) {
      if (size == elms.length) {
        Variable[] bigger = new Variable[2 * size];
        for (int i = 0; i < size; i++) bigger[i] = elms[i];
        elms = bigger;
      }
      elms[size] = v;
      size++;
    }

    Variable removeFirst() {
      size--;
      Variable v = elms[size];
      elms[size] = null;
      return v;
    }
  }

  // ---- strengths

  static boolean stronger(int s1, int s2) { return s1 < s2; }
  static boolean weaker(int s1, int s2) { return s1 > s2; }

  static int weakestOf(int s1, int s2) {
    if (weaker(s1, s2)) return s1;
    return s2;
  }

  // Octane's table (WEAKEST, never asked, maps to itself).
  static int nextWeaker(int s) {
    if (s == 0) return WEAKEST;
    if (s == 1) return WEAK_DEFAULT;
    if (s == 2) return NORMAL;
    if (s == 3) return STRONG_DEFAULT;
    if (s == 4) return PREFERRED;
    if (s == 5) return REQUIRED;
    return WEAKEST;
  }

  // ---- variables

  static final class Variable {
    long value;
    CList constraints = new CList();
    Constraint determinedBy = null;
    long mark = 0;
    int walkStrength = WEAKEST;
    boolean stay = true;
    String name;

    Variable(String name, long value) { this.name = name; this.value = value; }

    void addConstraint(Constraint c) { constraints.add(c); }

    void removeConstraint(Constraint c) {
      constraints.remove(c);
      if (determinedBy == c) determinedBy = null;
    }
  }

  // ---- constraints
  // kind STAY and EDIT use myOutput and satisfied (UnaryConstraint); kind
  // EQUALITY and SCALE use v1, v2 and direction (BinaryConstraint); SCALE
  // also scale and offset.

  static final class Constraint {
    int kind, strength;
    Variable myOutput;
    boolean satisfied;
    Variable v1, v2;
    int direction;
    Variable scale, offset;

    Constraint(int kind, int strength, Variable myOutput, Variable v1, Variable v2,
               Variable scale, Variable offset) {
      this.kind = kind; this.strength = strength; this.myOutput = myOutput; this.satisfied = false;
      this.v1 = v1; this.v2 = v2; this.direction = NONE; this.scale = scale; this.offset = offset;
      addConstraint();
    }

    boolean isUnary() { return kind <= EDIT; }
    boolean isInput() { return kind == EDIT; }

    void addConstraint() {
      addToGraph();
      planner.incrementalAdd(this);
    }

    Constraint satisfy(long mark) {
      chooseMethod(mark);
      if (!isSatisfied()) {
        if (strength == REQUIRED) throw new RuntimeException("Could not satisfy a required constraint!");
        return null;
      }
      markInputs(mark);
      Variable out = output();
      Constraint overridden = out.determinedBy;
      if (overridden != null) overridden.markUnsatisfied();
      out.determinedBy = this;
      if (!planner.addPropagate(this, mark)) throw new RuntimeException("Cycle encountered");
      out.mark = mark;
      return overridden;
    }

    void destroyConstraint() {
      if (isSatisfied()) {
        planner.incrementalRemove(this);
      } else {
        removeFromGraph();
      }
    }

    void addToGraph() {
      if (isUnary()) {
        myOutput.addConstraint(this);
        satisfied = false;
        return;
      }
      v1.addConstraint(this);
      v2.addConstraint(this);
      direction = NONE;
      if (kind == SCALE) {
        scale.addConstraint(this);
        offset.addConstraint(this);
      }
    }

    void chooseMethod(long mark) {
      if (isUnary()) {
        satisfied = myOutput.mark != mark && stronger(strength, myOutput.walkStrength);
        return;
      }
      if (v1.mark == mark) {
        if (v2.mark != mark && stronger(strength, v2.walkStrength)) {
          direction = FORWARD;
        } else {
          direction = NONE;
        }
      }
      if (v2.mark == mark) {
        if (v1.mark != mark && stronger(strength, v1.walkStrength)) {
          direction = BACKWARD;
        } else {
          direction = NONE;
        }
      }
      if (weaker(v1.walkStrength, v2.walkStrength)) {
        if (stronger(strength, v1.walkStrength)) {
          direction = BACKWARD;
        } else {
          direction = NONE;
        }
      } else {
        if (stronger(strength, v2.walkStrength)) {
          direction = FORWARD;
        } else {
          direction = BACKWARD;
        }
      }
    }

    boolean isSatisfied() {
      if (isUnary()) return satisfied;
      return direction != NONE;
    }

    void markInputs(long mark) {
      if (isUnary()) return;
      input().mark = mark;
      if (kind == SCALE) {
        scale.mark = mark;
        offset.mark = mark;
      }
    }

    Variable input() {
      if (direction == FORWARD) return v1;
      return v2;
    }

    Variable output() {
      if (isUnary()) return myOutput;
      if (direction == FORWARD) return v2;
      return v1;
    }

    void recalculate() {
      if (isUnary()) {
        myOutput.walkStrength = strength;
        myOutput.stay = !isInput();
        if (myOutput.stay) execute();
        return;
      }
      Variable ihn = input();
      Variable out = output();
      out.walkStrength = weakestOf(strength, ihn.walkStrength);
      if (kind == SCALE) {
        out.stay = ihn.stay && scale.stay && offset.stay;
      } else {
        out.stay = ihn.stay;
      }
      if (out.stay) execute();
    }

    void markUnsatisfied() {
      if (isUnary()) {
        satisfied = false;
      } else {
        direction = NONE;
      }
    }

    boolean inputsKnown(long mark) {
      if (isUnary()) return true;
      Variable i = input();
      return i.mark == mark || i.stay || i.determinedBy == null;
    }

    void removeFromGraph() {
      if (isUnary()) {
        if (myOutput != null) myOutput.removeConstraint(this);
        satisfied = false;
        return;
      }
      if (v1 != null) v1.removeConstraint(this);
      if (v2 != null) v2.removeConstraint(this);
      direction = NONE;
      if (kind == SCALE) {
        if (scale != null) scale.removeConstraint(this);
        if (offset != null) offset.removeConstraint(this);
      }
    }

    // Stay and edit constraints do nothing.
    void execute() {
      if (kind == EQUALITY) {
        output().value = input().value;
      } else if (kind == SCALE) {
        if (direction == FORWARD) {
          v2.value = v1.value * scale.value + offset.value;
        } else {
          v1.value = (v2.value - offset.value) / scale.value;
        }
      }
    }
  }

  static Constraint newStay(Variable v, int strength) {
    return new Constraint(STAY, strength, v, null, null, null, null);
  }

  static Constraint newEdit(Variable v, int strength) {
    return new Constraint(EDIT, strength, v, null, null, null, null);
  }

  static Constraint newEquality(Variable var1, Variable var2, int strength) {
    return new Constraint(EQUALITY, strength, null, var1, var2, null, null);
  }

  static Constraint newScale(Variable src, Variable scale, Variable offset, Variable dest, int strength) {
    return new Constraint(SCALE, strength, null, src, dest, scale, offset);
  }

  // ---- planner

  static final class Plan {
    CList v = new CList();

    void execute() {
      CList cs = v;
      for (int i = 0; i < cs.size; i++) cs.elms[i].execute();
    }
  }

  static final class Planner {
    long currentMark = 0;

    long newMark() {
      currentMark++;
      return currentMark;
    }

    void incrementalAdd(Constraint c) {
      long mark = newMark();
      Constraint overridden = c.satisfy(mark);
      while (overridden != null) overridden = overridden.satisfy(mark);
    }

    void incrementalRemove(Constraint c) {
      Variable out = c.output();
      c.markUnsatisfied();
      c.removeFromGraph();
      CList unsatisfied = removePropagateFrom(out);
      int strength = REQUIRED;
      while (true) {
        for (int i = 0; i < unsatisfied.size; i++) {
          Constraint u = unsatisfied.elms[i];
          if (u.strength == strength) incrementalAdd(u);
        }
        strength = nextWeaker(strength);
        if (strength == WEAKEST) break;
      }
    }

    Plan makePlan(CList sources) {
      long mark = newMark();
      Plan plan = new Plan();
      CList todo = sources;
      while (todo.size > 0) {
        Constraint c = todo.removeFirst();
        if (c.output().mark != mark && c.inputsKnown(mark)) {
          plan.v.add(c);
          c.output().mark = mark;
          addConstraintsConsumingTo(c.output(), todo);
        }
      }
      return plan;
    }

    Plan extractPlanFromConstraints(CList constraints) {
      CList sources = new CList();
      for (int i = 0; i < constraints.size; i++) {
        Constraint c = constraints.elms[i];
        if (c.isInput() && c.isSatisfied()) sources.add(c);
      }
      return makePlan(sources);
    }

    boolean addPropagate(Constraint c, long mark) {
      CList todo = new CList();
      todo.add(c);
      while (todo.size > 0) {
        Constraint d = todo.removeFirst();
        if (d.output().mark == mark) {
          incrementalRemove(c);
          return false;
        }
        d.recalculate();
        addConstraintsConsumingTo(d.output(), todo);
      }
      return true;
    }

    CList removePropagateFrom(Variable out) {
      out.determinedBy = null;
      out.walkStrength = WEAKEST;
      out.stay = true;
      CList unsatisfied = new CList();
      VList todo = new VList();
      todo.add(out);
      while (todo.size > 0) {
        Variable v = todo.removeFirst();
        CList cs = v.constraints;
        for (int i = 0; i < cs.size; i++) {
          Constraint c = cs.elms[i];
          if (!c.isSatisfied()) unsatisfied.add(c);
        }
        Constraint determining = v.determinedBy;
        for (int i = 0; i < cs.size; i++) {
          Constraint next = cs.elms[i];
          if (next != determining && next.isSatisfied()) {
            next.recalculate();
            todo.add(next.output());
          }
        }
      }
      return unsatisfied;
    }

    void addConstraintsConsumingTo(Variable v, CList coll) {
      Constraint determining = v.determinedBy;
      CList cc = v.constraints;
      for (int i = 0; i < cc.size; i++) {
        Constraint c = cc.elms[i];
        if (c != determining && c.isSatisfied()) coll.add(c);
      }
    }
  }

  // ---- the tests

  // A chain of n+1 variables linked by equality constraints, edited at one end.
  static long chainTest(int n) {
    planner = new Planner();
    Variable prev = null, first = null, last = null;
    for (int i = 0; i < n + 1; i++) {
      Variable v = new Variable("v" + i, 0);
      if (prev != null) newEquality(prev, v, REQUIRED);
      if (i == 0) first = v;
      if (i == n) last = v;
      prev = v;
    }
    newStay(last, STRONG_DEFAULT);
    Constraint edit = newEdit(first, PREFERRED);
    CList edits = new CList();
    edits.add(edit);
    Plan plan = planner.extractPlanFromConstraints(edits);
    long sum = 0;
    for (int i = 0; i < 100; i++) {
      first.value = i;
      plan.execute();
      if (last.value != i) throw new RuntimeException("Chain test failed.");
      sum += last.value;
    }
    return sum + plan.v.size;
  }

  // n variable pairs linked by scale constraints sharing scale and offset.
  static long projectionTest(int n) {
    planner = new Planner();
    Variable scale = new Variable("scale", 10);
    Variable offset = new Variable("offset", 1000);
    Variable src = null, dst = null;
    VList dests = new VList();
    for (int i = 0; i < n; i++) {
      src = new Variable("src" + i, i);
      dst = new Variable("dst" + i, i);
      dests.add(dst);
      newStay(src, NORMAL);
      newScale(src, scale, offset, dst, REQUIRED);
    }
    change(src, 17);
    if (dst.value != 1170) throw new RuntimeException("Projection 1 failed");
    change(dst, 1050);
    if (src.value != 5) throw new RuntimeException("Projection 2 failed");
    change(scale, 5);
    for (int i = 0; i < n - 1; i++) {
      if (dests.elms[i].value != i * 5 + 1000) throw new RuntimeException("Projection 3 failed");
    }
    change(offset, 2000);
    for (int i = 0; i < n - 1; i++) {
      if (dests.elms[i].value != i * 5 + 2000) throw new RuntimeException("Projection 4 failed");
    }
    long sum = src.value + dst.value + scale.value + offset.value;
    for (int i = 0; i < dests.size; i++) sum += dests.elms[i].value;
    return sum;
  }

  static void change(Variable v, long newValue) {
    Constraint edit = newEdit(v, PREFERRED);
    CList edits = new CList();
    edits.add(edit);
    Plan plan = planner.extractPlanFromConstraints(edits);
    for (int i = 0; i < 10; i++) {
      v.value = newValue;
      plan.execute();
    }
    edit.destroyConstraint();
  }

  public static void main(String[] args) {
    long iterations = 3000;
    int n = 100;
    if (args.length > 0) iterations = Long.parseLong(args[0]);
    if (args.length > 1) n = Integer.parseInt(args[1]);
    long checksum = 0;
    for (long i = 0; i < iterations; i++) {
      checksum += chainTest(n);
      checksum += projectionTest(n);
    }
    System.out.println("checksum: " + checksum);
  }
}
