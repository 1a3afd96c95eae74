/** Jest runs the model's unit tests; server calls are stubbed with jest.mock('../request'). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/labextension'],
  testMatch: ['**/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json']
};
