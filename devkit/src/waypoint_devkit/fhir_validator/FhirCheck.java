import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.context.IWorkerContext.ValidationResult;
import org.hl7.fhir.r4.context.SimpleWorkerContext;
import org.hl7.fhir.r4.elementmodel.Element;
import org.hl7.fhir.r4.elementmodel.JsonParser;
import org.hl7.fhir.r4.elementmodel.ParserBase.ValidationPolicy;
import org.hl7.fhir.r4.elementmodel.Property;
import org.hl7.fhir.r4.fhirpath.ExpressionNode;
import org.hl7.fhir.r4.fhirpath.FHIRPathEngine;
import org.hl7.fhir.r4.model.CodeSystem;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.ElementDefinition;
import org.hl7.fhir.r4.model.ElementDefinition.ElementDefinitionBindingComponent;
import org.hl7.fhir.r4.model.ElementDefinition.ElementDefinitionConstraintComponent;
import org.hl7.fhir.r4.model.Enumerations.BindingStrength;
import org.hl7.fhir.r4.model.Questionnaire;
import org.hl7.fhir.r4.model.Questionnaire.QuestionnaireItemComponent;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StructureDefinition;
import org.hl7.fhir.r4.model.ValueSet;
import org.hl7.fhir.utilities.validation.ValidationMessage;
import org.hl7.fhir.utilities.validation.ValidationOptions;

/**
 * Validates FHIR R4 resources (JSON) against HL7's own R4 definitions: the StructureDefinitions,
 * ValueSets and CodeSystems that HL7 publishes and hapi-fhir-validation-resources-r4 ships.
 *
 * <pre>java -cp classes:jars/* FhirCheck DEFINITIONS_DIR RESOURCES_DIR</pre>
 *
 * Loads the definitions once (and the suite's own CodeSystems/Questionnaires from DEFINITIONS_DIR),
 * checks every *.json of RESOURCES_DIR in name order, and prints one JSON array of issues
 * {resource (index in that order), severity, path, message, rule} on stdout.
 *
 * What it checks, element by element: unknown elements and JSON types (HL7's element-model parser),
 * cardinality, primitive formats (each primitive type's regex), every FHIRPath invariant of the
 * element's definition and of its data type, bindings against R4 value sets, codes of known code
 * systems, and a QuestionnaireResponse's items against its Questionnaire when that is known.
 */
public class FhirCheck {
  static final String DEFINITIONS = "org/hl7/fhir/r4/model/";
  static final String[] R4_FILES = {
    "profile/profiles-types.xml",
    "profile/profiles-resources.xml",
    "valueset/valuesets.xml",
    "valueset/v3-codesystems.xml",
    "valueset/v2-tables.xml",
  };
  static final String REGEX_EXTENSION = "http://hl7.org/fhir/StructureDefinition/regex";
  static final Pattern UNKNOWN_PROPERTY = Pattern.compile("Unrecognised property '@?([^']+)'");
  // Data types whose elements are defined inline in the resource (their own invariants are ele-1).
  static final Set<String> INLINE_TYPES = Set.of("Element", "BackboneElement");
  // R4 invariants whose published expression is empty, so unsatisfied, when the element it tests
  // is absent (a Reference with only a display; a Bundle entry without fullUrl; a NamingSystem
  // without name), though R4 allows that absence. Evaluated as later FHIR versions and HL7's own
  // validator correct them: guarded by the element's existence. Every other invariant is
  // evaluated as published.
  static final Map<String, String> CORRECTED = Map.of(
      "reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
          + "%rootResource.contained.id.trace('ids'))",
      "reference.exists() implies (reference.startsWith('#').not() or "
          + "(reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids')))",
      "fullUrl.contains('/_history/').not()",
      "fullUrl.exists() implies fullUrl.contains('/_history/').not()",
      "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')",
      "name.exists() implies name.matches('[A-Z]([A-Za-z0-9_]){0,254}')");

  /** One finding; serialised as it is to the JSON the Python side reads. */
  static class Issue {
    int resource;
    String severity;
    String path;
    String message;
    String rule;

    Issue(int resource, String severity, String path, String message, String rule) {
      this.resource = resource;
      this.severity = severity;
      this.path = path;
      this.message = message;
      this.rule = rule;
    }
  }

  final SimpleWorkerContext context;
  final FHIRPathEngine fhirPath;
  final ValidationOptions options = new ValidationOptions().withNoServer();
  final Map<String, ExpressionNode> expressions = new HashMap<>();
  final Map<String, Pattern> formats = new HashMap<>();
  final Method childProperties;
  final List<Issue> issues = new ArrayList<>();
  int current;

  FhirCheck(SimpleWorkerContext context) throws Exception {
    this.context = context;
    this.fhirPath = new FHIRPathEngine(context);
    // Property knows each element's children (snapshot, data type, choice, contentReference) but
    // keeps that method protected; the element-model parser uses it the same way.
    childProperties =
        Property.class.getDeclaredMethod("getChildProperties", String.class, String.class);
    childProperties.setAccessible(true);
  }

  public static void main(String[] args) throws Exception {
    long started = System.currentTimeMillis();
    SimpleWorkerContext context = loadR4();
    int own = loadOwn(context, new File(args[0]));
    long loaded = System.currentTimeMillis();
    FhirCheck check = new FhirCheck(context);
    File[] files = new File(args[1]).listFiles((dir, name) -> name.endsWith(".json"));
    Arrays.sort(files);
    for (int i = 0; i < files.length; i++) {
      check.current = i;
      check.validate(Files.readAllBytes(files[i].toPath()));
    }
    Gson gson = new GsonBuilder().disableHtmlEscaping().create();
    System.out.println(gson.toJson(check.issues));
    System.err.printf(
        "fhir-check: definitions loaded in %d ms (%d own), %d resources checked in %d ms%n",
        loaded - started, own, files.length, System.currentTimeMillis() - loaded);
  }

  static SimpleWorkerContext loadR4() throws Exception {
    SimpleWorkerContext context = new SimpleWorkerContext();
    context.setCanRunWithoutTerminology(true);
    for (String name : R4_FILES) {
      try (InputStream in = FhirCheck.class.getClassLoader().getResourceAsStream(DEFINITIONS + name)) {
        context.loadFromFile(in, name, null);
      }
    }
    return context;
  }

  /** The suite's own CodeSystems and Questionnaires, so that its codes and canonicals resolve. */
  static int loadOwn(SimpleWorkerContext context, File folder) throws Exception {
    File[] files = folder.listFiles((dir, name) -> name.endsWith(".json"));
    for (File file : files) {
      Resource resource =
          new org.hl7.fhir.r4.formats.JsonParser().parse(Files.readAllBytes(file.toPath()));
      context.cacheResource(resource);
    }
    return files.length;
  }

  // --- one resource -------------------------------------------------------------------------

  void validate(byte[] json) {
    List<ValidationMessage> parsing = new ArrayList<>();
    JsonParser parser = new JsonParser(context);
    parser.setupValidation(ValidationPolicy.EVERYTHING, parsing);
    Element root;
    try {
      root = parser.parse(new ByteArrayInputStream(json));
    } catch (Throwable e) {
      add("error", "(document)", "cannot parse: " + e.getMessage(), "parse");
      return;
    }
    for (ValidationMessage message : parsing) {
      addParserMessage(message);
    }
    if (root != null) {
      walk(root, root.fhirType(), root, root);
    }
  }

  void addParserMessage(ValidationMessage message) {
    String text = message.getMessage();
    String path = message.getLocation().replaceFirst("^/", "").replace('/', '.');
    String rule = "type";
    Matcher unknown = UNKNOWN_PROPERTY.matcher(text);
    if (unknown.find()) {
      path = path + "." + unknown.group(1);
      rule = "unknown-element";
    } else if (text.contains("unknown name") || text.contains("resourceType")) {
      rule = "unknown-type";
    }
    add(message.getLevel().isError() ? "error" : "warning", path, text, rule);
  }

  /** Check one element and, recursively, its children. */
  void walk(Element element, String path, Element resource, Element root) {
    if (isResourceRoot(element)) {
      resource = element;
    }
    String type = element.fhirType();
    ElementDefinition definition = element.getProperty().getDefinition();
    if (element.isPrimitive() && element.hasValue()) {
      checkFormat(element, type, path);
    }
    checkInvariants(element, type, definition, path, resource, root);
    checkBinding(element, type, definition, path);
    if ("Coding".equals(type)) {
      checkCodeExists(element, path);
    }
    if ("QuestionnaireResponse".equals(type) && element == resource) {
      new QuestionnaireCheck(this).check(element, path);
    }
    if (!"xhtml".equals(type)) {
      checkCardinality(element, path);
      Map<String, Integer> seen = new HashMap<>();
      for (Element child : element.getChildren()) {
        String name = child.getName();
        int index = seen.merge(name, 1, Integer::sum) - 1;
        String childPath = path + "." + name + (declared(child).isList() ? "[" + index + "]" : "");
        walk(child, childPath, resource, root);
      }
    }
  }

  static boolean isResourceRoot(Element element) {
    Property property = element.getProperty();
    return !property.getDefinition().getPath().contains(".")
        && property.getStructure().getKind()
            == StructureDefinition.StructureDefinitionKind.RESOURCE;
  }

  /** The property an element was declared as (a contained resource's is its container's). */
  static Property declared(Element element) {
    return element.hasElementProperty() ? element.getElementProperty() : element.getProperty();
  }

  // --- cardinality --------------------------------------------------------------------------

  void checkCardinality(Element element, String path) {
    if (element.isPrimitive() && !element.hasChildren()) {
      return;
    }
    List<Property> properties;
    try {
      @SuppressWarnings("unchecked")
      List<Property> found =
          (List<Property>) childProperties.invoke(element.getProperty(), element.getName(), null);
      properties = found;
    } catch (Exception e) {
      add("warning", path, "children unknown: " + e, "cardinality");
      return;
    }
    for (Property property : properties) {
      if (element.isPrimitive() && "value".equals(property.getName())) {
        continue; // a primitive's value is the element's own value, not a child
      }
      int count = 0;
      for (Element child : element.getChildren()) {
        if (declared(child).getName().equals(property.getName())) {
          count++;
        }
      }
      ElementDefinition child = property.getDefinition();
      String max = child.getMax();
      String where = path + "." + property.getName();
      if (count < child.getMin()) {
        add("error", where, String.format("minimum required = %d, found %d", child.getMin(), count),
            "cardinality");
      } else if (!"*".equals(max) && count > Integer.parseInt(max)) {
        add("error", where, String.format("maximum allowed = %s, found %d", max, count),
            "cardinality");
      }
    }
  }

  // --- primitive formats --------------------------------------------------------------------

  void checkFormat(Element element, String type, String path) {
    Pattern format = formats.computeIfAbsent(type, this::formatOf);
    String value = element.getValue();
    if (format != null && !format.matcher(value).matches()) {
      add("error", path, String.format("'%s' is not a valid %s", value, type), "format");
    } else if (Set.of("date", "dateTime", "instant").contains(type) && value.length() >= 10) {
      try {
        LocalDate.parse(value.substring(0, 10)); // the regex lets 2021-02-30 through
      } catch (Exception e) {
        add("error", path, String.format("'%s' is not a valid %s", value, type), "format");
      }
    }
  }

  /** The regex HL7 gives the value of a primitive type (the `regex` extension of `<type>.value`). */
  Pattern formatOf(String type) {
    StructureDefinition definition = context.fetchTypeDefinition(type);
    if (definition == null) {
      return null;
    }
    for (ElementDefinition element : definition.getSnapshot().getElement()) {
      if (element.getPath().equals(type + ".value") && element.hasType()) {
        var regex = element.getType().get(0).getExtensionByUrl(REGEX_EXTENSION);
        if (regex != null) {
          return Pattern.compile(regex.getValue().primitiveValue());
        }
      }
    }
    return null;
  }

  // --- invariants ---------------------------------------------------------------------------

  void checkInvariants(
      Element element, String type, ElementDefinition definition, String path, Element resource,
      Element root) {
    Map<String, ElementDefinitionConstraintComponent> constraints = new LinkedHashMap<>();
    for (ElementDefinitionConstraintComponent constraint : definition.getConstraint()) {
      constraints.putIfAbsent(constraint.getKey(), constraint);
    }
    StructureDefinition typeDefinition = context.fetchTypeDefinition(type);
    if (element != resource && typeDefinition != null && !INLINE_TYPES.contains(type)) {
      for (var constraint : typeDefinition.getSnapshot().getElementFirstRep().getConstraint()) {
        constraints.putIfAbsent(constraint.getKey(), constraint);
      }
    }
    for (ElementDefinitionConstraintComponent constraint : constraints.values()) {
      if (!constraint.hasExpression()) {
        continue;
      }
      String severity = constraint.getSeverity() == ElementDefinition.ConstraintSeverity.ERROR
          ? "error" : "warning";
      try {
        String text = CORRECTED.getOrDefault(constraint.getExpression(), constraint.getExpression());
        ExpressionNode expression = expressions.computeIfAbsent(text, fhirPath::parse);
        // As HL7's tools read an invariant: satisfied only when it evaluates to true (an empty
        // result is not).
        if (!fhirPath.evaluateToBoolean(null, resource, root, element, expression)) {
          add(severity, path, constraint.getHuman() + " (" + constraint.getExpression() + ")",
              constraint.getKey());
        }
      } catch (Exception e) {
        add("warning", path, "cannot evaluate " + constraint.getExpression() + ": " + e.getMessage(),
            constraint.getKey());
      }
    }
  }

  // --- terminology --------------------------------------------------------------------------

  void checkBinding(Element element, String type, ElementDefinition definition, String path) {
    if (!definition.hasBinding() || !Set.of("code", "Coding", "CodeableConcept").contains(type)) {
      return;
    }
    ElementDefinitionBindingComponent binding = definition.getBinding();
    BindingStrength strength = binding.getStrength();
    if (strength == null || strength == BindingStrength.EXAMPLE || !binding.hasValueSet()) {
      return;
    }
    ValueSet valueSet = context.fetchResource(ValueSet.class, binding.getValueSet());
    String rule = "binding-" + strength.toCode();
    if (valueSet == null) {
      add("warning", path, "value set " + binding.getValueSet() + " is unknown", rule);
      return;
    }
    List<Coding> codings = codingsOf(element, type);
    if (codings.isEmpty()) {
      return; // a CodeableConcept with only text, or a code with only extensions
    }
    List<String> problems = new ArrayList<>();
    for (Coding coding : codings) {
      if (coding.hasSystem() && !knownSystem(coding.getSystem())) {
        add("warning", path, "cannot check " + describe(coding) + " against " + valueSet.getUrl()
            + ": code system unknown", "system-unknown");
        return;
      }
      ValidationResult result;
      try {
        result = "code".equals(type)
            ? context.validateCode(options, coding.getCode(), valueSet)
            : context.validateCode(options, coding, valueSet);
      } catch (Error | RuntimeException e) { // a value set only a terminology server expands
        add("warning", path, "cannot check " + describe(coding) + " against " + valueSet.getUrl()
            + " without a terminology server: " + e.getMessage(), "valueset-unexpandable");
        return;
      }
      if (result.isOk()) {
        return;
      }
      problems.add(describe(coding) + ": " + result.getMessage());
    }
    String severity = strength == BindingStrength.REQUIRED ? "error" : "warning";
    add(severity, path, String.format("not in the %s value set %s (%s)", strength.toCode(),
        valueSet.getUrl(), String.join("; ", problems)), rule);
  }

  static List<Coding> codingsOf(Element element, String type) {
    List<Coding> codings = new ArrayList<>();
    if ("code".equals(type)) {
      if (element.hasValue()) {
        codings.add(new Coding(null, element.getValue(), null));
      }
    } else if ("Coding".equals(type)) {
      codings.add(coding(element));
    } else {
      for (Element coding : element.getChildrenByName("coding")) {
        codings.add(coding(coding));
      }
    }
    return codings;
  }

  static Coding coding(Element element) {
    return new Coding(element.getNamedChildValue("system"), element.getNamedChildValue("code"),
        element.getNamedChildValue("display"));
  }

  static String describe(Coding coding) {
    return (coding.hasSystem() ? coding.getSystem() + "#" : "") + coding.getCode();
  }

  boolean knownSystem(String system) {
    return context.fetchCodeSystem(system) != null;
  }

  /** A Coding of a known, complete code system must name one of its codes. */
  void checkCodeExists(Element element, String path) {
    Coding coding = coding(element);
    if (!coding.hasSystem() || !coding.hasCode()) {
      return;
    }
    CodeSystem system = context.fetchCodeSystem(coding.getSystem());
    if (system == null) {
      add("warning", path, "code system " + coding.getSystem() + " is unknown: "
          + coding.getCode() + " not checked", "system-unknown");
      return;
    }
    if (system.getContent() != CodeSystem.CodeSystemContentMode.COMPLETE) {
      return;
    }
    ValidationResult result =
        context.validateCode(options, coding.getSystem(), coding.getCode(), coding.getDisplay());
    if (!result.isOk() || result.getMessage() != null) {
      boolean unknown = !result.isOk();
      add(unknown ? "error" : "warning", path, result.getMessage(),
          unknown ? "code-unknown" : "code-display");
    }
  }

  // --- issues -------------------------------------------------------------------------------

  void add(String severity, String path, String message, String rule) {
    issues.add(new Issue(current, severity, path, message, rule));
  }

  /** A QuestionnaireResponse's items against the Questionnaire it names, when that is known. */
  static class QuestionnaireCheck {
    // The answer value[x] each item type takes.
    static final Map<String, Set<String>> ANSWERS = Map.ofEntries(
        Map.entry("boolean", Set.of("valueBoolean")),
        Map.entry("decimal", Set.of("valueDecimal")),
        Map.entry("integer", Set.of("valueInteger")),
        Map.entry("date", Set.of("valueDate")),
        Map.entry("dateTime", Set.of("valueDateTime")),
        Map.entry("time", Set.of("valueTime")),
        Map.entry("string", Set.of("valueString")),
        Map.entry("text", Set.of("valueString")),
        Map.entry("url", Set.of("valueUri")),
        Map.entry("choice", Set.of("valueCoding")),
        Map.entry("open-choice", Set.of("valueCoding", "valueString")),
        Map.entry("attachment", Set.of("valueAttachment")),
        Map.entry("reference", Set.of("valueReference")),
        Map.entry("quantity", Set.of("valueQuantity")));

    final FhirCheck check;

    QuestionnaireCheck(FhirCheck check) {
      this.check = check;
    }

    void check(Element response, String path) {
      String canonical = response.getNamedChildValue("questionnaire");
      if (canonical == null) {
        return;
      }
      Questionnaire questionnaire = check.context.fetchResource(Questionnaire.class, canonical);
      if (questionnaire == null) {
        check.add("warning", path + ".questionnaire", "questionnaire " + canonical
            + " is not among the definitions: answers not checked", "questionnaire-unknown");
        return;
      }
      items(response, path, questionnaire.getItem());
    }

    void items(Element parent, String path, List<QuestionnaireItemComponent> defined) {
      List<Element> items = parent.getChildrenByName("item");
      for (int i = 0; i < items.size(); i++) {
        Element item = items.get(i);
        String itemPath = path + ".item[" + i + "]";
        String linkId = item.getNamedChildValue("linkId");
        QuestionnaireItemComponent definition = find(defined, linkId);
        if (definition == null) {
          check.add("error", itemPath, "linkId '" + linkId + "' is not in the questionnaire",
              "questionnaire-linkid");
          continue;
        }
        items(item, itemPath, definition.getItem());
        List<Element> answers = item.getChildrenByName("answer");
        for (int a = 0; a < answers.size(); a++) {
          answer(answers.get(a), itemPath + ".answer[" + a + "]", definition);
        }
      }
    }

    void answer(Element answer, String path, QuestionnaireItemComponent definition) {
      items(answer, path, definition.getItem());
      Set<String> allowed = ANSWERS.getOrDefault(definition.getType().toCode(), Set.of());
      for (Element value : answer.getChildren()) {
        if (!value.getName().startsWith("value")) {
          continue;
        }
        if (!allowed.contains(value.getName())) {
          check.add("error", path + "." + value.getName(), String.format(
              "item '%s' is of type %s: %s is not an answer of that type",
              definition.getLinkId(), definition.getType().toCode(), value.getName()),
              "questionnaire-answer-type");
        } else if ("valueCoding".equals(value.getName()) && definition.hasAnswerOption()
            && !offered(definition, coding(value))) {
          check.add("error", path + ".valueCoding", String.format(
              "%s is not among the answer options of item '%s'", describe(coding(value)),
              definition.getLinkId()), "questionnaire-answer-option");
        }
      }
    }

    static QuestionnaireItemComponent find(List<QuestionnaireItemComponent> items, String linkId) {
      for (QuestionnaireItemComponent item : items) {
        if (item.getLinkId().equals(linkId)) {
          return item;
        }
      }
      return null;
    }

    static boolean offered(QuestionnaireItemComponent definition, Coding coding) {
      for (var option : definition.getAnswerOption()) {
        if (option.hasValueCoding() && option.getValueCoding().getCode().equals(coding.getCode())
            && java.util.Objects.equals(option.getValueCoding().getSystem(), coding.getSystem())) {
          return true;
        }
      }
      return false;
    }
  }
}
