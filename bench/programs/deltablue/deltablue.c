/* DeltaBlue: the incremental constraint solver of Freeman-Benson, Maloney and
   Borning, ported from the Octane version (deltablue.js), including its
   quirks (removeFirst takes the last element; BinaryConstraint.chooseMethod
   has no early returns; Strength.nextWeaker's table). As in the Toy version,
   the four constraint classes are one struct with a kind field and dispatch
   functions; OrderedCollection is a growable array per element type; a
   strength is its int value. Arguments: iterations (default 3000), n (default
   100). One iteration runs the chain test and the projection test with n.
   Prints a checksum of the values the tests compute.
   Memory: temporary collections are freed when they die; the variables and
   constraints of a test are recorded as they are made and freed at its end. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Variable Variable;
typedef struct Constraint Constraint;
typedef struct CList { Constraint **elms; long cap, size; } CList;
typedef struct VList { Variable **elms; long cap, size; } VList;

struct Variable {
  long value;
  CList *constraints;
  Constraint *determined_by;
  long mark, walk_strength;
  bool stay;
  char *name;
};

/* kind STAY and EDIT use my_output and satisfied (UnaryConstraint); kind
   EQUALITY and SCALE use v1, v2 and direction (BinaryConstraint); SCALE also
   scale and offset. */
struct Constraint {
  long kind, strength;
  Variable *my_output;
  bool satisfied;
  Variable *v1, *v2;
  long direction;
  Variable *scale, *offset;
};

typedef struct Planner { long current_mark; } Planner;
typedef struct Plan { CList *v; } Plan;

enum { REQUIRED, STRONG_PREFERRED, PREFERRED, STRONG_DEFAULT, NORMAL, WEAK_DEFAULT, WEAKEST };
enum { NONE = 0, FORWARD = 1, BACKWARD = -1 };
enum { STAY, EDIT, EQUALITY, SCALE };

static Planner *planner = NULL;
static VList *all_variables;      /* everything a test made, freed at its end */
static CList *all_constraints;

static void fail(const char *msg) {
  fprintf(stderr, "error: %s\n", msg);
  exit(1);
}

/* ---- OrderedCollection of constraints / of variables */

static CList *clist_new(void) {
  CList *l = malloc(sizeof(CList));
  l->cap = 4; l->size = 0;
  l->elms = calloc(l->cap, sizeof(Constraint *));
  return l;
}

static void clist_free(CList *l) { free(l->elms); free(l); }

static void clist_add(CList *l, Constraint *c) {
  if (l->size == l->cap) {
    Constraint **bigger = calloc(2 * l->size, sizeof(Constraint *));
    for (long i = 0; i < l->size; i++) bigger[i] = l->elms[i];
    free(l->elms);
    l->elms = bigger;
    l->cap = 2 * l->size;
  }
  l->elms[l->size] = c;
  l->size++;
}

/* As in Octane: removes and returns the last element. */
static Constraint *clist_remove_first(CList *l) {
  l->size--;
  Constraint *c = l->elms[l->size];
  l->elms[l->size] = NULL;
  return c;
}

static void clist_remove(CList *l, Constraint *c) {
  long index = 0, skipped = 0;
  for (long i = 0; i < l->size; i++) {
    Constraint *value = l->elms[i];
    if (value != c) {
      l->elms[index] = value;
      index++;
    } else {
      skipped++;
    }
  }
  for (long i = 0; i < skipped; i++) {
    l->size--;
    l->elms[l->size] = NULL;
  }
}

static VList *vlist_new(void) {
  VList *l = malloc(sizeof(VList));
  l->cap = 4; l->size = 0;
  l->elms = calloc(l->cap, sizeof(Variable *));
  return l;
}

static void vlist_free(VList *l) { free(l->elms); free(l); }

static void vlist_add(VList *l, Variable *v) {
  if (l->size == l->cap) {
    Variable **bigger = calloc(2 * l->size, sizeof(Variable *));
    for (long i = 0; i < l->size; i++) bigger[i] = l->elms[i];
    free(l->elms);
    l->elms = bigger;
    l->cap = 2 * l->size;
  }
  l->elms[l->size] = v;
  l->size++;
}

static Variable *vlist_remove_first(VList *l) {
  l->size--;
  Variable *v = l->elms[l->size];
  l->elms[l->size] = NULL;
  return v;
}

/* ---- strengths */

static bool stronger(long s1, long s2) { return s1 < s2; }
static bool weaker(long s1, long s2) { return s1 > s2; }

static long weakest_of(long s1, long s2) {
  if (weaker(s1, s2)) return s1;
  return s2;
}

/* Octane's table (WEAKEST, never asked, maps to itself). */
static long next_weaker(long s) {
  if (s == 0) return WEAKEST;
  if (s == 1) return WEAK_DEFAULT;
  if (s == 2) return NORMAL;
  if (s == 3) return STRONG_DEFAULT;
  if (s == 4) return PREFERRED;
  if (s == 5) return REQUIRED;
  return WEAKEST;
}

/* ---- variables */

static Variable *new_variable(const char *prefix, long suffix, long value) {
  Variable *v = malloc(sizeof(Variable));
  v->value = value;
  v->constraints = clist_new();
  v->determined_by = NULL;
  v->mark = 0;
  v->walk_strength = WEAKEST;
  v->stay = true;
  char buf[48];
  if (suffix >= 0) snprintf(buf, sizeof buf, "%s%ld", prefix, suffix);
  else snprintf(buf, sizeof buf, "%s", prefix);
  v->name = strdup(buf);
  vlist_add(all_variables, v);
  return v;
}

static void variable_add_constraint(Variable *v, Constraint *c) { clist_add(v->constraints, c); }

static void variable_remove_constraint(Variable *v, Constraint *c) {
  clist_remove(v->constraints, c);
  if (v->determined_by == c) v->determined_by = NULL;
}

/* ---- constraints */

static void add_constraint(Constraint *c);
static void incremental_add(Planner *p, Constraint *c);
static void incremental_remove(Planner *p, Constraint *c);
static bool add_propagate(Planner *p, Constraint *c, long mark);

static Constraint *new_unary(long kind, Variable *v, long strength) {
  Constraint *c = malloc(sizeof(Constraint));
  c->kind = kind; c->strength = strength; c->my_output = v; c->satisfied = false;
  c->v1 = NULL; c->v2 = NULL; c->direction = NONE; c->scale = NULL; c->offset = NULL;
  clist_add(all_constraints, c);
  add_constraint(c);
  return c;
}

static Constraint *new_stay(Variable *v, long strength) { return new_unary(STAY, v, strength); }
static Constraint *new_edit(Variable *v, long strength) { return new_unary(EDIT, v, strength); }

static Constraint *new_binary(long kind, Variable *var1, Variable *var2, long strength,
                              Variable *scale, Variable *offset) {
  Constraint *c = malloc(sizeof(Constraint));
  c->kind = kind; c->strength = strength; c->my_output = NULL; c->satisfied = false;
  c->v1 = var1; c->v2 = var2; c->direction = NONE; c->scale = scale; c->offset = offset;
  clist_add(all_constraints, c);
  add_constraint(c);
  return c;
}

static Constraint *new_equality(Variable *var1, Variable *var2, long strength) {
  return new_binary(EQUALITY, var1, var2, strength, NULL, NULL);
}

static Constraint *new_scale(Variable *src, Variable *scale, Variable *offset, Variable *dest,
                             long strength) {
  return new_binary(SCALE, src, dest, strength, scale, offset);
}

static bool is_unary(Constraint *c) { return c->kind <= EDIT; }
static bool is_input(Constraint *c) { return c->kind == EDIT; }

static void choose_method(Constraint *c, long mark);
static bool is_satisfied(Constraint *c);
static void mark_inputs(Constraint *c, long mark);
static Variable *output(Constraint *c);
static void mark_unsatisfied(Constraint *c);
static void add_to_graph(Constraint *c);
static void remove_from_graph(Constraint *c);

static void add_constraint(Constraint *c) {
  add_to_graph(c);
  incremental_add(planner, c);
}

static Constraint *satisfy(Constraint *c, long mark) {
  choose_method(c, mark);
  if (!is_satisfied(c)) {
    if (c->strength == REQUIRED) fail("Could not satisfy a required constraint!");
    return NULL;
  }
  mark_inputs(c, mark);
  Variable *out = output(c);
  Constraint *overridden = out->determined_by;
  if (overridden != NULL) mark_unsatisfied(overridden);
  out->determined_by = c;
  if (!add_propagate(planner, c, mark)) fail("Cycle encountered");
  out->mark = mark;
  return overridden;
}

static void destroy_constraint(Constraint *c) {
  if (is_satisfied(c)) {
    incremental_remove(planner, c);
  } else {
    remove_from_graph(c);
  }
}

static void add_to_graph(Constraint *c) {
  if (is_unary(c)) {
    variable_add_constraint(c->my_output, c);
    c->satisfied = false;
    return;
  }
  variable_add_constraint(c->v1, c);
  variable_add_constraint(c->v2, c);
  c->direction = NONE;
  if (c->kind == SCALE) {
    variable_add_constraint(c->scale, c);
    variable_add_constraint(c->offset, c);
  }
}

static void choose_method(Constraint *c, long mark) {
  if (is_unary(c)) {
    c->satisfied = c->my_output->mark != mark && stronger(c->strength, c->my_output->walk_strength);
    return;
  }
  if (c->v1->mark == mark) {
    if (c->v2->mark != mark && stronger(c->strength, c->v2->walk_strength)) {
      c->direction = FORWARD;
    } else {
      c->direction = NONE;
    }
  }
  if (c->v2->mark == mark) {
    if (c->v1->mark != mark && stronger(c->strength, c->v1->walk_strength)) {
      c->direction = BACKWARD;
    } else {
      c->direction = NONE;
    }
  }
  if (weaker(c->v1->walk_strength, c->v2->walk_strength)) {
    if (stronger(c->strength, c->v1->walk_strength)) {
      c->direction = BACKWARD;
    } else {
      c->direction = NONE;
    }
  } else {
    if (stronger(c->strength, c->v2->walk_strength)) {
      c->direction = FORWARD;
    } else {
      c->direction = BACKWARD;
    }
  }
}

static bool is_satisfied(Constraint *c) {
  if (is_unary(c)) return c->satisfied;
  return c->direction != NONE;
}

static Variable *input(Constraint *c) {
  if (c->direction == FORWARD) return c->v1;
  return c->v2;
}

static Variable *output(Constraint *c) {
  if (is_unary(c)) return c->my_output;
  if (c->direction == FORWARD) return c->v2;
  return c->v1;
}

static void mark_inputs(Constraint *c, long mark) {
  if (is_unary(c)) return;
  input(c)->mark = mark;
  if (c->kind == SCALE) {
    c->scale->mark = mark;
    c->offset->mark = mark;
  }
}

/* Stay and edit constraints do nothing. */
static void execute(Constraint *c) {
  if (c->kind == EQUALITY) {
    output(c)->value = input(c)->value;
  } else if (c->kind == SCALE) {
    if (c->direction == FORWARD) {
      c->v2->value = c->v1->value * c->scale->value + c->offset->value;
    } else {
      c->v1->value = (c->v2->value - c->offset->value) / c->scale->value;
    }
  }
}

static void recalculate(Constraint *c) {
  if (is_unary(c)) {
    c->my_output->walk_strength = c->strength;
    c->my_output->stay = !is_input(c);
    if (c->my_output->stay) execute(c);
    return;
  }
  Variable *ihn = input(c);
  Variable *out = output(c);
  out->walk_strength = weakest_of(c->strength, ihn->walk_strength);
  if (c->kind == SCALE) {
    out->stay = ihn->stay && c->scale->stay && c->offset->stay;
  } else {
    out->stay = ihn->stay;
  }
  if (out->stay) execute(c);
}

static void mark_unsatisfied(Constraint *c) {
  if (is_unary(c)) {
    c->satisfied = false;
  } else {
    c->direction = NONE;
  }
}

static bool inputs_known(Constraint *c, long mark) {
  if (is_unary(c)) return true;
  Variable *i = input(c);
  return i->mark == mark || i->stay || i->determined_by == NULL;
}

static void remove_from_graph(Constraint *c) {
  if (is_unary(c)) {
    if (c->my_output != NULL) variable_remove_constraint(c->my_output, c);
    c->satisfied = false;
    return;
  }
  if (c->v1 != NULL) variable_remove_constraint(c->v1, c);
  if (c->v2 != NULL) variable_remove_constraint(c->v2, c);
  c->direction = NONE;
  if (c->kind == SCALE) {
    if (c->scale != NULL) variable_remove_constraint(c->scale, c);
    if (c->offset != NULL) variable_remove_constraint(c->offset, c);
  }
}

/* ---- planner */

static long new_mark(Planner *p) {
  p->current_mark++;
  return p->current_mark;
}

static void incremental_add(Planner *p, Constraint *c) {
  long mark = new_mark(p);
  Constraint *overridden = satisfy(c, mark);
  while (overridden != NULL) overridden = satisfy(overridden, mark);
}

static CList *remove_propagate_from(Planner *p, Variable *out);

static void incremental_remove(Planner *p, Constraint *c) {
  Variable *out = output(c);
  mark_unsatisfied(c);
  remove_from_graph(c);
  CList *unsatisfied = remove_propagate_from(p, out);
  long strength = REQUIRED;
  for (;;) {
    for (long i = 0; i < unsatisfied->size; i++) {
      Constraint *u = unsatisfied->elms[i];
      if (u->strength == strength) incremental_add(p, u);
    }
    strength = next_weaker(strength);
    if (strength == WEAKEST) break;
  }
  clist_free(unsatisfied);
}

static void add_constraints_consuming_to(Planner *p, Variable *v, CList *coll) {
  (void)p;
  Constraint *determining = v->determined_by;
  CList *cc = v->constraints;
  for (long i = 0; i < cc->size; i++) {
    Constraint *c = cc->elms[i];
    if (c != determining && is_satisfied(c)) clist_add(coll, c);
  }
}

static Plan *make_plan(Planner *p, CList *sources) {
  long mark = new_mark(p);
  Plan *plan = malloc(sizeof(Plan));
  plan->v = clist_new();
  CList *todo = sources;
  while (todo->size > 0) {
    Constraint *c = clist_remove_first(todo);
    if (output(c)->mark != mark && inputs_known(c, mark)) {
      clist_add(plan->v, c);
      output(c)->mark = mark;
      add_constraints_consuming_to(p, output(c), todo);
    }
  }
  return plan;
}

static void plan_free(Plan *plan) { clist_free(plan->v); free(plan); }

static Plan *extract_plan_from_constraints(Planner *p, CList *constraints) {
  CList *sources = clist_new();
  for (long i = 0; i < constraints->size; i++) {
    Constraint *c = constraints->elms[i];
    if (is_input(c) && is_satisfied(c)) clist_add(sources, c);
  }
  Plan *plan = make_plan(p, sources);
  clist_free(sources);
  return plan;
}

static bool add_propagate(Planner *p, Constraint *c, long mark) {
  CList *todo = clist_new();
  clist_add(todo, c);
  while (todo->size > 0) {
    Constraint *d = clist_remove_first(todo);
    if (output(d)->mark == mark) {
      incremental_remove(p, c);
      clist_free(todo);
      return false;
    }
    recalculate(d);
    add_constraints_consuming_to(p, output(d), todo);
  }
  clist_free(todo);
  return true;
}

static CList *remove_propagate_from(Planner *p, Variable *out) {
  (void)p;
  out->determined_by = NULL;
  out->walk_strength = WEAKEST;
  out->stay = true;
  CList *unsatisfied = clist_new();
  VList *todo = vlist_new();
  vlist_add(todo, out);
  while (todo->size > 0) {
    Variable *v = vlist_remove_first(todo);
    CList *cs = v->constraints;
    for (long i = 0; i < cs->size; i++) {
      Constraint *c = cs->elms[i];
      if (!is_satisfied(c)) clist_add(unsatisfied, c);
    }
    Constraint *determining = v->determined_by;
    for (long i = 0; i < cs->size; i++) {
      Constraint *next = cs->elms[i];
      if (next != determining && is_satisfied(next)) {
        recalculate(next);
        vlist_add(todo, output(next));
      }
    }
  }
  vlist_free(todo);
  return unsatisfied;
}

static void plan_execute(Plan *plan) {
  CList *cs = plan->v;
  for (long i = 0; i < cs->size; i++) execute(cs->elms[i]);
}

/* ---- the tests */

static void begin_test(void) {
  planner = malloc(sizeof(Planner));
  planner->current_mark = 0;
  all_variables = vlist_new();
  all_constraints = clist_new();
}

static void end_test(void) {
  for (long i = 0; i < all_variables->size; i++) {
    Variable *v = all_variables->elms[i];
    clist_free(v->constraints);
    free(v->name);
    free(v);
  }
  for (long i = 0; i < all_constraints->size; i++) free(all_constraints->elms[i]);
  vlist_free(all_variables);
  clist_free(all_constraints);
  free(planner);
  planner = NULL;
}

/* A chain of n+1 variables linked by equality constraints, edited at one end. */
static long chain_test(long n) {
  begin_test();
  Variable *prev = NULL, *first = NULL, *last = NULL;
  for (long i = 0; i < n + 1; i++) {
    Variable *v = new_variable("v", i, 0);
    if (prev != NULL) new_equality(prev, v, REQUIRED);
    if (i == 0) first = v;
    if (i == n) last = v;
    prev = v;
  }
  new_stay(last, STRONG_DEFAULT);
  Constraint *edit = new_edit(first, PREFERRED);
  CList *edits = clist_new();
  clist_add(edits, edit);
  Plan *plan = extract_plan_from_constraints(planner, edits);
  long sum = 0;
  for (long i = 0; i < 100; i++) {
    first->value = i;
    plan_execute(plan);
    if (last->value != i) fail("Chain test failed.");
    sum += last->value;
  }
  sum += plan->v->size;
  plan_free(plan);
  clist_free(edits);
  end_test();
  return sum;
}

static void change(Variable *v, long new_value) {
  Constraint *edit = new_edit(v, PREFERRED);
  CList *edits = clist_new();
  clist_add(edits, edit);
  Plan *plan = extract_plan_from_constraints(planner, edits);
  for (long i = 0; i < 10; i++) {
    v->value = new_value;
    plan_execute(plan);
  }
  destroy_constraint(edit);
  plan_free(plan);
  clist_free(edits);
}

/* n variable pairs linked by scale constraints sharing scale and offset. */
static long projection_test(long n) {
  begin_test();
  Variable *scale = new_variable("scale", -1, 10);
  Variable *offset = new_variable("offset", -1, 1000);
  Variable *src = NULL, *dst = NULL;
  VList *dests = vlist_new();
  for (long i = 0; i < n; i++) {
    src = new_variable("src", i, i);
    dst = new_variable("dst", i, i);
    vlist_add(dests, dst);
    new_stay(src, NORMAL);
    new_scale(src, scale, offset, dst, REQUIRED);
  }
  change(src, 17);
  if (dst->value != 1170) fail("Projection 1 failed");
  change(dst, 1050);
  if (src->value != 5) fail("Projection 2 failed");
  change(scale, 5);
  for (long i = 0; i < n - 1; i++) {
    if (dests->elms[i]->value != i * 5 + 1000) fail("Projection 3 failed");
  }
  change(offset, 2000);
  for (long i = 0; i < n - 1; i++) {
    if (dests->elms[i]->value != i * 5 + 2000) fail("Projection 4 failed");
  }
  long sum = src->value + dst->value + scale->value + offset->value;
  for (long i = 0; i < dests->size; i++) sum += dests->elms[i]->value;
  vlist_free(dests);
  end_test();
  return sum;
}

int main(int argc, char **argv) {
  long iterations = 3000, n = 100;
  if (argc > 1) iterations = atol(argv[1]);
  if (argc > 2) n = atol(argv[2]);
  long checksum = 0;
  for (long i = 0; i < iterations; i++) {
    checksum += chain_test(n);
    checksum += projection_test(n);
  }
  printf("checksum: %ld\n", checksum);
  return 0;
}
